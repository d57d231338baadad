//! Quota (stub).
