"""One package per policy: how it selects proxies and what it contributes to their config."""
