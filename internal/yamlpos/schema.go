package yamlpos

import (
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Schema is a JSON Schema (draft 2020-12) object, as editors with
// yaml-language-server read it to complete and check a file.
type Schema = map[string]any

// SchemaDraft is the JSON Schema dialect of Schema.
const SchemaDraft = "https://json-schema.org/draft/2020-12/schema"

// StructSchema is the schema of the YAML form of struct type t, as
// DecodeStrict decodes it: its fields by their yaml keys, each described by
// its doc tag, and no other key. field gives a key's schema where the Go
// type does not say enough (an enum, a yaml.Node checked later); nil, or a
// nil result, takes it from the Go type.
func StructSchema(t reflect.Type, field func(key string) Schema) Schema {
	props := Schema{}
	for i := range t.NumField() {
		sf := t.Field(i)
		key := strings.Split(sf.Tag.Get("yaml"), ",")[0]
		if !sf.IsExported() || key == "-" || key == "" {
			continue
		}
		var s Schema
		if field != nil {
			s = field(key)
		}
		if s == nil {
			s = TypeSchema(sf.Type)
		}
		if doc := sf.Tag.Get("doc"); doc != "" {
			s["description"] = doc
		}
		props[key] = s
	}
	return Schema{"type": "object", "properties": props, "additionalProperties": false}
}

// TypeSchema is the schema of Go type t's YAML form.
func TypeSchema(t reflect.Type) Schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[yaml.Node]():
		return Schema{}
	case t.Kind() == reflect.String:
		return Schema{"type": "string"}
	case t.Kind() == reflect.Bool:
		return Schema{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return Schema{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return Schema{"type": "number"}
	case t.Kind() == reflect.Slice:
		return Schema{"type": "array", "items": TypeSchema(t.Elem())}
	case t.Kind() == reflect.Map:
		return Schema{"type": "object", "additionalProperties": TypeSchema(t.Elem())}
	case t.Kind() == reflect.Struct:
		return StructSchema(t, nil)
	}
	return Schema{}
}

// Enum is a string schema of the given values.
func Enum(values ...string) Schema {
	return Schema{"type": "string", "enum": values}
}
