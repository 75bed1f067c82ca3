"""OpenAPI post-processing: the schema says what the API enforces."""


def forbid_unknown_fields(result, generator, request, public):
    """Request bodies refuse unknown fields (a 400): their schemas say additionalProperties: false."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    return result
