package rules

import (
	"reflect"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/internal/yamlpos"
)

// JSONSchema is the JSON Schema of a rule file, for editors: built from the
// types the loader decodes, engine.Schema's reply kinds and the engine's
// lists of message types, events and keyword modes, so that it says what
// check says. A msgtype or event WeChat does not send today is only a
// warning in check, so the schema suggests them without refusing others.
func JSONSchema() yamlpos.Schema {
	str := func(v ...engine.KeywordMode) []string {
		out := make([]string, len(v))
		for i, m := range v {
			out[i] = string(m)
		}
		return out
	}
	rule := yamlpos.StructSchema(reflect.TypeFor[ruleDef](), func(key string) yamlpos.Schema {
		switch key {
		case "msgtype":
			return yamlpos.Schema{"type": "string", "examples": engine.MsgTypes}
		case "event":
			return yamlpos.Schema{"type": "string", "examples": engine.Events}
		case "match":
			return yamlpos.Enum(str(engine.KeywordModes...)...)
		case "keywords":
			return yamlpos.Schema{"type": "array", "minItems": 1, "items": yamlpos.Schema{"type": "string", "minLength": 1}}
		case "event_key":
			return yamlpos.Schema{"oneOf": []any{yamlpos.Schema{"type": "string"}, yamlpos.Schema{"type": "array", "minItems": 1, "items": yamlpos.Schema{"type": "string"}}}}
		case "cooldown", "session_ttl":
			return durationSchema()
		case "set":
			return yamlpos.Schema{"type": "object", "propertyNames": yamlpos.Schema{"pattern": sessionNamePattern},
				"additionalProperties": yamlpos.Schema{"type": "string"}}
		case "unset":
			name := yamlpos.Schema{"type": "string", "pattern": sessionNamePattern}
			return yamlpos.Schema{"oneOf": []any{name, yamlpos.Schema{"type": "array", "minItems": 1, "items": name}}}
		case "on_error":
			return replySchema()
		case "pick":
			return yamlpos.Enum(string(engine.PickRandom), string(engine.PickAll))
		case "reply":
			return replySchema()
		case "replies":
			return yamlpos.Schema{"type": "array", "minItems": 1, "items": replySchema()}
		}
		return nil
	})
	rule["required"] = []string{"id"}
	rule["anyOf"] = []any{yamlpos.Schema{"required": []string{"reply"}}, yamlpos.Schema{"required": []string{"replies"}}, yamlpos.Schema{"required": []string{"backend"}}}
	rule["not"] = yamlpos.Schema{"required": []string{"reply", "replies"}}
	settings := yamlpos.StructSchema(reflect.TypeFor[settingsDef](), func(key string) yamlpos.Schema {
		if key == "session_ttl" {
			return durationSchema()
		}
		return nil
	})
	file := yamlpos.StructSchema(reflect.TypeFor[fileDef](), func(key string) yamlpos.Schema {
		switch key {
		case "rules":
			return yamlpos.Schema{"type": "array", "items": rule}
		case "settings":
			return settings
		}
		return nil
	})
	file["$schema"] = yamlpos.SchemaDraft
	file["title"] = "wxreply rule file"
	return file
}

// durationSchema is a duration as engine.ParseDuration reads it.
func durationSchema() yamlpos.Schema {
	return yamlpos.Schema{"type": "string", "pattern": `^\s*([0-9]+d)?([0-9.]+(ns|us|µs|ms|s|m|h))*\s*$`,
		"examples": []string{"30m", "1h", "1d"}}
}

// replySchema is one reply: exactly one kind of engine.Schema, shaped as
// the kind is.
func replySchema() yamlpos.Schema {
	var kinds []any
	for _, k := range engine.Schema {
		var v yamlpos.Schema
		switch k.Shape {
		case engine.ShapeValue:
			v = yamlpos.Schema{"type": "string", "minLength": 1, "description": k.Doc + " " + k.Fields[0].Doc + "."}
		case engine.ShapeFields:
			v = KindFieldsSchema(k)
			v["description"] = k.Doc
		case engine.ShapeList:
			v = yamlpos.Schema{"type": "array", "minItems": 1, "maxItems": k.MaxItems, "items": KindFieldsSchema(k), "description": k.Doc}
		}
		kinds = append(kinds, yamlpos.Schema{"type": "object", "properties": yamlpos.Schema{string(k.Kind): v},
			"required": []string{string(k.Kind)}, "additionalProperties": false})
	}
	return yamlpos.Schema{"oneOf": kinds}
}

// KindFieldsSchema is the mapping of a reply kind's fields (of one item,
// for a list): each a template that renders to text.
func KindFieldsSchema(k *engine.KindSchema) yamlpos.Schema {
	props := yamlpos.Schema{}
	var required []string
	for _, f := range k.Fields {
		props[f.Name] = yamlpos.Schema{"type": "string", "description": f.Doc}
		if f.Required {
			required = append(required, f.Name)
		}
	}
	s := yamlpos.Schema{"type": "object", "properties": props, "additionalProperties": false}
	if required != nil {
		s["required"] = required
	} else {
		s["type"] = []string{"object", "null"} // transfer_customer_service: {} or nothing
	}
	return s
}
