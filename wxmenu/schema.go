package wxmenu

import (
	"reflect"
	"strings"

	"github.com/wxreply/wxreply/internal/yamlpos"
)

// JSONSchema is the JSON Schema of a menu file, for editors: built from the
// Menu and Button types the parser decodes, the button types of [Types] and
// the limits Validate checks (the bytes of a name, which a schema counts
// in characters, are left to check).
func JSONSchema() yamlpos.Schema {
	button := func(sub yamlpos.Schema) yamlpos.Schema {
		return yamlpos.StructSchema(reflect.TypeFor[Button](), func(key string) yamlpos.Schema {
			switch key {
			case "type":
				return yamlpos.Schema{"type": "string", "enum": typeOrder, "description": "What the button does; each type needs its own fields: " + typeNeeds() + "."}
			case "sub_button":
				return sub
			}
			return nil
		})
	}
	leaf := button(yamlpos.Schema{"type": "array", "maxItems": 0, "description": "Menus have two levels: a sub-menu button opens none."})
	top := button(yamlpos.Schema{"type": "array", "minItems": 1, "maxItems": MaxSubButtons, "items": leaf,
		"description": "The buttons of the sub-menu this button opens; such a button has no type."})
	leaf["required"] = []string{"name", "type"}
	top["required"] = []string{"name"}
	file := yamlpos.StructSchema(reflect.TypeFor[Menu](), func(string) yamlpos.Schema {
		return yamlpos.Schema{"type": "array", "minItems": 1, "maxItems": MaxButtons, "items": top, "description": "The buttons of the menu bar."}
	})
	file["$schema"] = yamlpos.SchemaDraft
	file["title"] = "wxreply menu file"
	file["required"] = []string{"button"}
	return file
}

func typeNeeds() string {
	var parts []string
	for _, t := range typeOrder {
		parts = append(parts, t+" needs "+strings.Join(Types[t], ", "))
	}
	return strings.Join(parts, "; ")
}
