"""Process wiring of the control plane: configuration, components, run global|zone."""
