"""Live tests of lanner's default ruleset: each rule, its behaviour and a benign twin."""
