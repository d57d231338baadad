//! Label and field selectors: the string syntax of `labelSelector` and
//! `fieldSelector` query parameters, the structured `metav1.LabelSelector`,
//! and the fields each built-in kind can be selected by.
//!
//! Both follow Kubernetes v1.33 (`k8s.io/apimachinery/pkg/labels`,
//! `pkg/fields`, and the `ToSelectableFields` / field label conversion
//! functions of `k8s.io/kubernetes`), including their error messages.

pub mod field;
pub mod label;

pub use field::{FieldSelector, FieldSelectorError};
pub use label::{LabelSelector, LabelSelectorError};
