"""The `pulumi/aws` program: networks, firewalls, VMs and EKS clusters for a multi-zone mesh."""
