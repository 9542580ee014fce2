package xrjson_test

import (
	"fmt"

	"github.com/netlens/netlens/pkg/decode/xr/xrjson"
)

// A decoder walks the document with Peek and the method of each kind; here
// every scalar is printed with its slash-joined name, the way XR leaves are named.
func ExampleScanner() {
	var s xrjson.Scanner
	s.Reset([]byte(`{"interface-name":"Gi0/0/0/1","counters":{"bytes-received":18446744073709551615,"drops":-3,"load":0.5,"up":true,"note":null}}`))
	var walk func(name string) error
	walk = func(name string) error {
		switch s.Peek() {
		case xrjson.Object:
			return s.Object(func(member []byte) error {
				if name == "" {
					return walk(string(member))
				}
				return walk(name + "/" + string(member))
			})
		case xrjson.String:
			v, err := s.Str()
			fmt.Printf("%s = %q\n", name, v)
			return err
		case xrjson.Number:
			text, err := s.Num()
			l := xrjson.NumberLeaf(text)
			fmt.Printf("%s = %v %d %d %g\n", name, l.Kind, l.U, l.I, l.F)
			return err
		case xrjson.True, xrjson.False:
			v, err := s.Bool()
			fmt.Printf("%s = %v\n", name, v)
			return err
		}
		return s.Skip() // null, or an error saying what is wrong
	}
	if err := walk(""); err != nil {
		fmt.Println(err)
	}
	if err := s.Finish(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// interface-name = "Gi0/0/0/1"
	// counters/bytes-received = uint 18446744073709551615 0 0
	// counters/drops = int 0 -3 0
	// counters/load = float 0 0 0.5
	// counters/up = true
}
