package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/udsls/udsls/inspect"
)

// A container is shown by the name its runtime gave, escaped in the table
// (anyone who may start a container names it) and exact in JSON, where the
// names the runtime did not tell are null.
func TestContainerNames(t *testing.T) {
	id := strings.Repeat("0123456789abcdef", 4)
	ctrs := []*inspect.Container{
		{ID: id, Runtime: "docker", Name: "web\x1b[2J\n"},
		{ID: id, Runtime: "containerd", Name: "api", Pod: "billing-7f9c", Namespace: "shop"},
		{ID: id, Runtime: "cri-o", Pod: "billing-7f9c", Namespace: "shop"}, // a pod's sandbox
		{ID: id, Runtime: "podman"},
	}
	var es []inspect.Entry
	for i, c := range ctrs {
		es = append(es, inspect.Entry{
			Socket: inspect.Socket{ID: inspect.SocketID(i + 1), Path: "/run/s" + string(rune('a'+i)), Type: inspect.TypeStream,
				State: inspect.StateListening, Known: inspect.KnownNetns, Netns: uint64(4026532000 + i)},
			Container: c,
		})
	}

	var buf bytes.Buffer
	if err := WriteTable(&buf, es, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	col := strings.Index(lines[0], "NETNS/CONTAINER")
	if col < 0 {
		t.Fatalf("no NETNS/CONTAINER column:\n%s", buf.String())
	}
	var got []string
	for _, l := range lines[1:] {
		got = append(got, strings.Fields(l[col:])[0])
	}
	want := []string{
		`4026532000/docker:web\x1b[2J\n`,
		"4026532001/containerd:shop/billing-7f9c/api",
		"4026532002/cri-o:shop/billing-7f9c",
		"4026532003/podman:0123456789ab",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("NETNS/CONTAINER column (-want +got):\n%s\n%s", diff, buf.String())
	}

	for _, streamed := range []bool{false, true} {
		buf.Reset()
		if streamed {
			jw := NewJSONWriter(&buf)
			for i := range es {
				if err := jw.Write(&es[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := jw.Close(nil); err != nil {
				t.Fatal(err)
			}
		} else if err := WriteJSON(&buf, es, nil); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Sockets []struct {
				Container *ContainerJSON `json:"container"`
			} `json:"sockets"`
		}
		if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		var gotJSON []*ContainerJSON
		for _, s := range doc.Sockets {
			gotJSON = append(gotJSON, s.Container)
		}
		str := func(s string) *string { return &s }
		wantJSON := []*ContainerJSON{
			{ID: id, Runtime: "docker", Name: str("web\x1b[2J\n")},
			{ID: id, Runtime: "containerd", Name: str("api"), Pod: str("billing-7f9c"), Namespace: str("shop")},
			{ID: id, Runtime: "cri-o", Pod: str("billing-7f9c"), Namespace: str("shop")},
			{ID: id, Runtime: "podman"},
		}
		if diff := cmp.Diff(wantJSON, gotJSON); diff != "" {
			t.Errorf("streamed %v: containers (-want +got):\n%s", streamed, diff)
		}
		for _, k := range []string{`"name": null`, `"pod": null`, `"namespace": null`} {
			if !strings.Contains(buf.String(), k) {
				t.Errorf("streamed %v: no %s in\n%s", streamed, k, buf.String())
			}
		}
	}
}
