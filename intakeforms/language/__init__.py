"""The YAML form language: models, safe reading with locations, rules."""
