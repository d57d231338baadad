//! RBAC authorization (being written)
