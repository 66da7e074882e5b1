//go:build !unix

package main

import "os"

func inodeOf(os.FileInfo) uint64 { return 0 }

func fileDevIno(os.FileInfo) (dev, ino uint64) { return 0, 0 }
