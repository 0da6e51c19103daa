"""The event contract as pydantic v2 models: input events, output records, topic names."""
