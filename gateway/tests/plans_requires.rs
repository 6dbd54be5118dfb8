//! Plans for `@requires`: inputs fetched before the requiring fetch, requires of requires,
//! required fields with arguments, nested requirements, and `@skip`/`@include` on them.

mod common;

use common::{plan, plan_with};

#[test]
fn fetches_required_fields_first() {
    insta::assert_snapshot!(plan("requires", "{ products { upc shippingCost } }"), @r#"
    QueryPlan {
      Sequence {
        Fetch(service: "products") {
          {
            products {
              upc
              weight
              price__b8a9b483: price(currency: USD)
            }
          }
        },
        Flatten(path: "products.@") {
          Fetch(service: "shipping") {
            {
              ... on Product {
                __typename
                upc
                weight
                price__b8a9b483: price(currency: USD)
              }
            } =>
            {
              ... on Product {
                shippingCost
              }
            }
          },
        },
      },
    }
    "#);
}

#[test]
fn plans_requires_of_requires() {
    insta::assert_snapshot!(plan("requires", "{ products { totalCost } }"), @r#"
    QueryPlan {
      Sequence {
        Fetch(service: "products") {
          {
            products {
              upc
              weight
              price__b8a9b483: price(currency: USD)
            }
          }
        },
        Flatten(path: "products.@") {
          Fetch(service: "shipping") {
            {
              ... on Product {
                __typename
                upc
                weight
                price__b8a9b483: price(currency: USD)
              }
            } =>
            {
              ... on Product {
                shippingCost
              }
            }
          },
        },
        Flatten(path: "products.@") {
          Fetch(service: "checkout") {
            {
              ... on Product {
                __typename
                upc
                shippingCost
              }
            } =>
            {
              ... on Product {
                totalCost
              }
            }
          },
        },
      },
    }
    "#);
}

#[test]
fn aliases_a_required_field_whose_arguments_differ_from_the_clients() {
    insta::assert_snapshot!(plan("requires", "{ products { price(currency: EUR) shippingCost } }"), @r#"
    QueryPlan {
      Sequence {
        Fetch(service: "products") {
          {
            products {
              price(currency: EUR)
              upc
              weight
              price__b8a9b483: price(currency: USD)
            }
          }
        },
        Flatten(path: "products.@") {
          Fetch(service: "shipping") {
            {
              ... on Product {
                __typename
                upc
                weight
                price__b8a9b483: price(currency: USD)
              }
            } =>
            {
              ... on Product {
                shippingCost
              }
            }
          },
        },
      },
    }
    "#);
}

#[test]
fn requires_a_nested_selection() {
    insta::assert_snapshot!(plan("requires", "{ products { packaging } }"), @r#"
    QueryPlan {
      Sequence {
        Fetch(service: "products") {
          {
            products {
              upc
              dimensions {
                width
                height
              }
            }
          }
        },
        Flatten(path: "products.@") {
          Fetch(service: "shipping") {
            {
              ... on Product {
                __typename
                upc
                dimensions {
                  width
                  height
                }
              }
            } =>
            {
              ... on Product {
                packaging
              }
            }
          },
        },
      },
    }
    "#);
}

#[test]
fn skipped_requiring_field_is_not_planned() {
    let query =
        "query ($withCost: Boolean!) { products { name shippingCost @include(if: $withCost) } }";
    insta::assert_snapshot!(plan_with("requires", query, Some(serde_json::json!({ "withCost": false }))), @r#"
    QueryPlan {
      Fetch(service: "products") {
        {
          products {
            name
          }
        }
      },
    }
    "#);
    insta::assert_snapshot!(plan_with("requires", query, Some(serde_json::json!({ "withCost": true }))), @r#"
    QueryPlan {
      Sequence {
        Fetch(service: "products") {
          {
            products {
              name
              upc
              weight
              price__b8a9b483: price(currency: USD)
            }
          }
        },
        Flatten(path: "products.@") {
          Fetch(service: "shipping") {
            {
              ... on Product {
                __typename
                upc
                weight
                price__b8a9b483: price(currency: USD)
              }
            } =>
            {
              ... on Product {
                shippingCost
              }
            }
          },
        },
      },
    }
    "#);
}
