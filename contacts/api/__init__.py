"""The REST API (`/api/v1/`): parse the request, call a service, serialize the result."""
