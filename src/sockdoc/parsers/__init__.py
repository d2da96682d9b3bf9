"""Pure parsers: text in, typed frozen dataclass out; one module per source."""
