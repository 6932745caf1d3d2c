//! The generic contract of `syncd_store::Store`, every case on both databases.

mod sqlite {
    syncd_store_contract::store_contract!(crate::harness::sqlite);
}

mod postgres {
    syncd_store_contract::store_contract!(crate::harness::postgres);
}
