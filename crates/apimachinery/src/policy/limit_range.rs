//! LimitRange (stub).
