"""The gRPC engine: server, servicers, proto conversions and the auth/error interceptor."""
