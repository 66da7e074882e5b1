/* What traffic.c needs beyond kernel.h: two uapi values. */
#ifndef UDSLS_TRAFFIC_H
#define UDSLS_TRAFFIC_H

#include "kernel.h"

enum {
	MSG_PEEK = 2,
	BPF_F_NO_PREALLOC = 1,
};

#endif
