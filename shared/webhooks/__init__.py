"""Webhooks per tenant (DESIGN §13): registration with a sealed secret, address rules checked
at registration and at connect time, Standard Webhooks signatures, and durable retries."""
