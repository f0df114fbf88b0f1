package selector_test

import (
	"errors"
	"fmt"

	"github.com/ferrymq/ferry/internal/selector"
)

func ExampleParse() {
	s, err := selector.Parse("type == camera, subnet=10.0.1.0/24, region in (eu, us), !draining")
	if err != nil {
		panic(err)
	}
	fmt.Println(s)
	fmt.Println(s.Matches(selector.Map{"type": "camera", "region": "eu", "ip": "10.0.1.17"}))
	fmt.Println(s.Matches(selector.Map{"type": "camera", "region": "eu", "ip": "10.0.2.17"}))
	// Output:
	// type=camera,subnet=10.0.1.0/24,region in (eu,us),!draining
	// true
	// false
}

func ExampleParse_error() {
	_, err := selector.Parse("type=camera,,region=eu")
	fmt.Println(err)
	fmt.Println(errors.Is(err, selector.ErrSyntax))
	var se *selector.SyntaxError
	if errors.As(err, &se) {
		fmt.Println(se.Pos)
	}
	// Output:
	// selector "type=camera,,region=eu": position 12: expected a key after ','
	// true
	// 12
}

func ExampleSelector_Requirements() {
	for _, r := range selector.MustParse("version!=1,region notin (ap),tier").Requirements() {
		fmt.Printf("%s %s %q\n", r.Key, r.Op, r.Values)
	}
	// Output:
	// version != ["1"]
	// region notin ["ap"]
	// tier exists []
}
