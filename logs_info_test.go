package ferry

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestLogInfoFromJSON(t *testing.T) {
	tests := []struct {
		name     string
		js       string
		damaged  []SeqRange
		readOnly string
	}{
		{"healthy", `{"config":{"name":"a"},"state":{"first_seq":1,"last_seq":9,"msgs":9}}`, nil, ""},
		{"damaged", `{"config":{"name":"a"},"state":{"first_seq":1,"last_seq":90,"damaged":[{"first":12,"last":12},{"first":40,"last":44}]}}`,
			[]SeqRange{{12, 12}, {40, 44}}, ""},
		{"read-only", `{"config":{"name":"a"},"state":{"read_only":"fsync: input/output error"}}`, nil, "fsync: input/output error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var j logInfoJSON
			if err := json.Unmarshal([]byte(tt.js), &j); err != nil {
				t.Fatal(err)
			}
			in := j.info()
			if !slices.Equal(in.Damaged, tt.damaged) || in.ReadOnly != tt.readOnly || in.Config.Name != "a" {
				t.Fatalf("info %+v, want damaged %v read-only %q", in, tt.damaged, tt.readOnly)
			}
		})
	}
}
