//! An order-preserving byte encoding of keys, so sled's byte order is the model's key order.

use crate::sql::Value;

/// Encode `key` so that byte order equals `Vec<Value>` order (the derived `Ord`).
pub fn encode(key: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() * 9);
    for v in key {
        match v {
            Value::Null => out.push(0),
            Value::Bool(b) => out.extend([1, *b as u8]),
            Value::Int(i) => {
                out.push(2);
                out.extend(((*i as u64) ^ (1 << 63)).to_be_bytes());
            }
            Value::Str(s) => {
                out.push(3);
                // 0x00 is escaped as 0x00 0xFF and the string ends with 0x00 0x00.
                for &b in s.as_bytes() {
                    out.push(b);
                    if b == 0 {
                        out.push(0xFF);
                    }
                }
                out.extend([0, 0]);
            }
            Value::Time(t) => {
                out.push(4);
                out.extend(((*t as u64) ^ (1 << 63)).to_be_bytes());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            "[a\\x00b]{0,4}".prop_map(|s: String| Value::Str(s.into())),
            any::<i64>().prop_map(Value::Time),
        ]
    }

    proptest! {
        #[test]
        fn byte_order_is_key_order(a in proptest::collection::vec(arb_value(), 0..3), b in proptest::collection::vec(arb_value(), 0..3)) {
            prop_assert_eq!(encode(&a).cmp(&encode(&b)), a.cmp(&b));
        }
    }
}
