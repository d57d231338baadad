//! protobuf (being written)
