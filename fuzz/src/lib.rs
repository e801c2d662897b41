//! Helpers the fuzz targets share: the catalogs statements are lowered on, and small specs decoded
//! from the fuzzer's bytes.

pub mod catalogs;
pub mod specs;
