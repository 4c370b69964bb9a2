//! Hardware profile YAML: schema, loading, validation, and resolving `--hardware ID[:MEM]` to [`super::Machine`]s.
