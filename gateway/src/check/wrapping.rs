//! Whether a changed type reference (`String` → `String!`, `[Int]` → `[Int!]`) can break
//! clients. Outputs and inputs go in opposite directions: a field may promise more (never
//! null), an argument or input field may accept more (null too), and nothing else is safe.

use apollo_compiler::ast::Type;

/// A field's type may change from `old` to `new` without breaking a client when every value
/// of `new` is also a value of `old`: only non-null wrappers may be added, at any depth.
pub(super) fn is_safe_output_change(old: &Type, new: &Type) -> bool {
    match (old, new) {
        (Type::Named(old), Type::Named(new) | Type::NonNullNamed(new)) => old == new,
        (Type::NonNullNamed(old), Type::NonNullNamed(new)) => old == new,
        (Type::List(old), Type::List(new) | Type::NonNullList(new)) => {
            is_safe_output_change(old, new)
        }
        (Type::NonNullList(old), Type::NonNullList(new)) => is_safe_output_change(old, new),
        _ => false,
    }
}

/// An argument's or input field's type may change from `old` to `new` without breaking a
/// client when every value a client could send for `old` is still accepted: only non-null
/// wrappers may be removed, at any depth.
pub(super) fn is_safe_input_change(old: &Type, new: &Type) -> bool {
    is_safe_output_change(new, old)
}

#[cfg(test)]
mod tests {
    use apollo_compiler::ty;

    use super::*;

    #[test]
    fn outputs_may_only_gain_non_null() {
        assert!(is_safe_output_change(&ty!(String), &ty!(String)));
        assert!(is_safe_output_change(&ty!(String), &ty!(String!)));
        assert!(is_safe_output_change(&ty!([String]), &ty!([String!]!)));
        assert!(!is_safe_output_change(&ty!(String!), &ty!(String)));
        assert!(!is_safe_output_change(&ty!([String!]), &ty!([String])));
        assert!(!is_safe_output_change(&ty!(String), &ty!(Int)));
        assert!(!is_safe_output_change(&ty!(String), &ty!([String])));
        assert!(!is_safe_output_change(&ty!([String]), &ty!(String)));
    }

    #[test]
    fn inputs_may_only_lose_non_null() {
        assert!(is_safe_input_change(&ty!(Int!), &ty!(Int)));
        assert!(is_safe_input_change(&ty!([Int!]!), &ty!([Int])));
        assert!(!is_safe_input_change(&ty!(Int), &ty!(Int!)));
        assert!(!is_safe_input_change(&ty!(Int), &ty!(Float)));
        assert!(!is_safe_input_change(&ty!(Int), &ty!([Int])));
    }
}
