"""The imperative shell: replay over files, the Faust worker on Kafka, the embedded broker, the demo."""
