package ruletest

import (
	"reflect"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/internal/yamlpos"
	"github.com/wxreply/wxreply/rules"
)

// JSONSchema is the JSON Schema of a rule test file, for editors: built from
// the types the parser decodes and the keys a want may give (replyFields,
// from engine.Schema), so that it says what the parser says.
func JSONSchema() yamlpos.Schema {
	want := yamlpos.StructSchema(reflect.TypeFor[wantDef](), func(key string) yamlpos.Schema {
		switch key {
		case "kind":
			return yamlpos.Enum(engine.KindNames()...)
		case "text_contains":
			return yamlpos.Schema{"oneOf": []any{yamlpos.Schema{"type": "string", "minLength": 1},
				yamlpos.Schema{"type": "array", "minItems": 1, "items": yamlpos.Schema{"type": "string", "minLength": 1}}}}
		}
		return nil
	})
	props := want["properties"].(yamlpos.Schema)
	props["rule"].(yamlpos.Schema)["description"] = "The id of the rule that answers, or none for no reply."
	for _, rf := range replyFields {
		if _, given := props[rf.key]; given {
			continue
		}
		if rf.list != nil {
			item := rules.KindFieldsSchema(rf.list)
			delete(item, "required") // a want's item gives only what it compares
			props[rf.key] = yamlpos.Schema{"type": "array", "minItems": 1, "maxItems": rf.list.MaxItems, "items": item,
				"description": "The " + rf.list.Item + "s of the reply, in order; each compares the fields it gives ({} matches any)."}
			continue
		}
		props[rf.key] = yamlpos.Schema{"type": "string", "description": "The reply's " + rf.key + " is exactly this."}
	}
	want["required"] = []string{"rule"}

	push := func(key string) yamlpos.Schema {
		switch key {
		case "text":
			return yamlpos.Schema{"type": "string", "description": "Short for event: {MsgType: text, Content: ...}."}
		case "event":
			return yamlpos.Schema{"type": "object", "description": "The push, by WeChat's field names.",
				"additionalProperties": yamlpos.Schema{"type": []string{"string", "number", "boolean", "object", "array"}}}
		case "want":
			return want
		}
		return nil
	}
	step := yamlpos.StructSchema(reflect.TypeFor[stepDef](), func(key string) yamlpos.Schema {
		if key == "after" {
			return yamlpos.Schema{"type": "string", "description": "Time passing before this push: 10m, 1h, 1d.", "examples": []string{"10m", "1h", "1d"}}
		}
		return push(key)
	})
	step["required"] = []string{"want"}
	tc := yamlpos.StructSchema(reflect.TypeFor[caseDef](), func(key string) yamlpos.Schema {
		switch key {
		case "name":
			return yamlpos.Schema{"type": "string", "minLength": 1, "description": "What the case shows; unique in the file."}
		case "now":
			return yamlpos.Schema{"type": "string", "description": "The time rules see: RFC 3339, or 2024-06-12 22:30 in the account's time zone."}
		case "session":
			return yamlpos.Schema{"type": "object", "additionalProperties": yamlpos.Schema{"type": "string"},
				"description": "The user's session values before the first push: name: value."}
		case "steps":
			return yamlpos.Schema{"type": "array", "minItems": 1, "items": step,
				"description": "A conversation: pushes from the same user, in order, each with its own want."}
		}
		return push(key)
	})
	tc["required"] = []string{"name"}
	tc["oneOf"] = []any{yamlpos.Schema{"required": []string{"want"}}, yamlpos.Schema{"required": []string{"steps"}}}
	file := yamlpos.StructSchema(reflect.TypeFor[fileDef](), func(key string) yamlpos.Schema {
		return yamlpos.Schema{"type": "array", "minItems": 1, "items": tc}
	})
	file["$schema"] = yamlpos.SchemaDraft
	file["title"] = "wxreply rule test file"
	file["required"] = []string{"tests"}
	return file
}
