"""The instructor's tools: build (release/ and solutions/ from source/) and demo."""
