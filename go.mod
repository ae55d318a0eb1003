module github.com/wxreply/wxreply

go 1.26

require github.com/expr-lang/expr v1.17.8

require gopkg.in/yaml.v3 v3.0.1 // indirect
