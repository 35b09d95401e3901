"""The scoring server as the endpoint sees it (above probe): requests, readiness, samples, the swagger
document, log diagnosis and the server's release history."""
