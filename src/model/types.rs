//! The one table of tensor storage types: every ggml type in current llama.cpp (F32 through NVFP4 and
//! Q1_0) plus the safetensors dtypes that have no ggml id. Each entry gives the block size in elements and
//! in bytes; every other module (GGUF reader, quantizer, KV cache, kernels) reads sizes from here and
//! nowhere else. Source: gguf-py 0.19.0 `GGML_QUANT_SIZES` / ggml.c `type_traits` (llama.cpp 0c1e570).

use std::fmt;

/// Description of one storage type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeInfo {
    /// Canonical name as llama.cpp prints it (`Q4_K`, `F16`, `BF16`, ...).
    pub name: &'static str,
    /// ggml type id as stored in GGUF, if this type exists in ggml.
    pub ggml_id: Option<u32>,
    /// Elements per block (1 for plain scalar types).
    pub block_elems: u64,
    /// Bytes per block.
    pub block_bytes: u64,
}

macro_rules! tensor_types {
    ($( $variant:ident = ($name:literal, $id:expr, $be:literal, $bb:literal) ),* $(,)?) => {
        /// A tensor storage type (ggml type or safetensors dtype).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(non_camel_case_types)]
        pub enum TensorType { $( $variant ),* }

        impl TensorType {
            /// Every known type, in table order.
            pub const ALL: &'static [TensorType] = &[ $( TensorType::$variant ),* ];

            /// The table row for this type.
            pub const fn info(self) -> TypeInfo {
                match self {
                    $( TensorType::$variant => TypeInfo { name: $name, ggml_id: $id, block_elems: $be, block_bytes: $bb } ),*
                }
            }
        }
    };
}

tensor_types! {
    F32     = ("F32",     Some(0),  1, 4),
    F16     = ("F16",     Some(1),  1, 2),
    Q4_0    = ("Q4_0",    Some(2),  32, 18),
    Q4_1    = ("Q4_1",    Some(3),  32, 20),
    Q5_0    = ("Q5_0",    Some(6),  32, 22),
    Q5_1    = ("Q5_1",    Some(7),  32, 24),
    Q8_0    = ("Q8_0",    Some(8),  32, 34),
    Q8_1    = ("Q8_1",    Some(9),  32, 40),
    Q2_K    = ("Q2_K",    Some(10), 256, 84),
    Q3_K    = ("Q3_K",    Some(11), 256, 110),
    Q4_K    = ("Q4_K",    Some(12), 256, 144),
    Q5_K    = ("Q5_K",    Some(13), 256, 176),
    Q6_K    = ("Q6_K",    Some(14), 256, 210),
    Q8_K    = ("Q8_K",    Some(15), 256, 292),
    IQ2_XXS = ("IQ2_XXS", Some(16), 256, 66),
    IQ2_XS  = ("IQ2_XS",  Some(17), 256, 74),
    IQ3_XXS = ("IQ3_XXS", Some(18), 256, 98),
    IQ1_S   = ("IQ1_S",   Some(19), 256, 50),
    IQ4_NL  = ("IQ4_NL",  Some(20), 32, 18),
    IQ3_S   = ("IQ3_S",   Some(21), 256, 110),
    IQ2_S   = ("IQ2_S",   Some(22), 256, 82),
    IQ4_XS  = ("IQ4_XS",  Some(23), 256, 136),
    I8      = ("I8",      Some(24), 1, 1),
    I16     = ("I16",     Some(25), 1, 2),
    I32     = ("I32",     Some(26), 1, 4),
    I64     = ("I64",     Some(27), 1, 8),
    F64     = ("F64",     Some(28), 1, 8),
    IQ1_M   = ("IQ1_M",   Some(29), 256, 56),
    BF16    = ("BF16",    Some(30), 1, 2),
    TQ1_0   = ("TQ1_0",   Some(34), 256, 54),
    TQ2_0   = ("TQ2_0",   Some(35), 256, 66),
    MXFP4   = ("MXFP4",   Some(39), 32, 17),
    NVFP4   = ("NVFP4",   Some(40), 64, 36),
    Q1_0    = ("Q1_0",    Some(41), 128, 18),
    // safetensors dtypes with no ggml id
    U8      = ("U8",      None, 1, 1),
    U16     = ("U16",     None, 1, 2),
    U32     = ("U32",     None, 1, 4),
    U64     = ("U64",     None, 1, 8),
    BOOL    = ("BOOL",    None, 1, 1),
    F8_E4M3 = ("F8_E4M3", None, 1, 1),
    F8_E5M2 = ("F8_E5M2", None, 1, 1),
    F8_E8M0 = ("F8_E8M0", None, 1, 1),
    F6_E2M3 = ("F6_E2M3", None, 4, 3),
    F6_E3M2 = ("F6_E3M2", None, 4, 3),
    F4      = ("F4",      None, 2, 1),
    F8_E4M3FNUZ = ("F8_E4M3FNUZ", None, 1, 1),
    F8_E5M2FNUZ = ("F8_E5M2FNUZ", None, 1, 1),
    // complex64: two F32 parts
    C64     = ("C64",     None, 1, 8),
}

impl TensorType {
    /// Look up a type by its ggml id (GGUF `ggml_type`).
    pub fn from_ggml_id(id: u32) -> Option<TensorType> {
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.info().ggml_id == Some(id))
    }

    /// Look up a type by name, case-insensitive (`q4_k`, `Q8_0`, `bf16`, safetensors `F8_E4M3`).
    pub fn from_name(name: &str) -> Option<TensorType> {
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.info().name.eq_ignore_ascii_case(name))
    }

    pub const fn name(self) -> &'static str {
        self.info().name
    }

    pub const fn block_elems(self) -> u64 {
        self.info().block_elems
    }

    pub const fn block_bytes(self) -> u64 {
        self.info().block_bytes
    }

    /// Whether this is a block-quantized type (more than one element per block).
    pub const fn is_quantized(self) -> bool {
        self.info().block_elems > 1
    }

    /// Bytes per element as a fraction (for display and estimates: 4.5 bits = 0.5625).
    pub fn bytes_per_elem(self) -> f64 {
        self.block_bytes() as f64 / self.block_elems() as f64
    }

    /// Bits per weight, including block scales.
    pub fn bits_per_weight(self) -> f64 {
        self.bytes_per_elem() * 8.0
    }

    /// Exact bytes for a row of `n` elements; `None` when `n` is not a whole number of blocks.
    pub fn row_bytes(self, n: u64) -> Option<u64> {
        let be = self.block_elems();
        if !n.is_multiple_of(be) {
            return None;
        }
        (n / be).checked_mul(self.block_bytes())
    }

    /// Exact bytes for a tensor of `n_elements` elements whose innermost dimension is `row`;
    /// `None` on overflow or when `row` is not a whole number of blocks.
    pub fn tensor_bytes(self, row: u64, n_elements: u64) -> Option<u64> {
        let be = self.block_elems();
        if row == 0 {
            return Some(0);
        }
        if !row.is_multiple_of(be) {
            return None;
        }
        (n_elements / be).checked_mul(self.block_bytes())
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for TensorType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique() {
        for (i, a) in TensorType::ALL.iter().enumerate() {
            for b in &TensorType::ALL[i + 1..] {
                assert_ne!(a.name(), b.name());
                if a.info().ggml_id.is_some() {
                    assert_ne!(a.info().ggml_id, b.info().ggml_id);
                }
            }
        }
    }

    #[test]
    fn known_sizes() {
        // 4.5 bits for Q4_0, 8.5 for Q8_0, 4.5 for Q4_K, 6.5625 for Q6_K
        assert_eq!(TensorType::Q4_0.bits_per_weight(), 4.5);
        assert_eq!(TensorType::Q8_0.bits_per_weight(), 8.5);
        assert_eq!(TensorType::Q4_K.bits_per_weight(), 4.5);
        assert_eq!(TensorType::Q6_K.bits_per_weight(), 6.5625);
        assert_eq!(TensorType::from_ggml_id(40), Some(TensorType::NVFP4));
        assert_eq!(TensorType::from_ggml_id(31), None);
        assert_eq!(TensorType::from_name("q4_k"), Some(TensorType::Q4_K));
        assert_eq!(TensorType::Q4_K.row_bytes(4096), Some(16 * 144));
        assert_eq!(TensorType::Q4_K.row_bytes(100), None);
    }
}
