//! Plans over `@shareable` fields: the subgraph that saves fetches wins, and a shared root
//! field without key is fetched from each subgraph that has part of the selection.

mod common;

use common::plan;

#[test]
fn keeps_a_shareable_field_in_the_current_subgraph() {
    insta::assert_snapshot!(plan("shareable", r#"{ search(term: "lamp") { name } }"#), @r#"
    QueryPlan {
      Fetch(service: "search") {
        {
          search(term: "lamp") {
            name
          }
        }
      },
    }
    "#);
}

#[test]
fn jumps_for_what_the_current_subgraph_lacks() {
    insta::assert_snapshot!(plan("shareable", r#"{ search(term: "lamp") { name description price } }"#), @r#"
    QueryPlan {
      Sequence {
        Fetch(service: "search") {
          {
            search(term: "lamp") {
              name
              id
            }
          }
        },
        Parallel {
          Flatten(path: "search.@") {
            Fetch(service: "catalog") {
              {
                ... on Product {
                  __typename
                  id
                }
              } =>
              {
                ... on Product {
                  description
                }
              }
            },
          },
          Flatten(path: "search.@") {
            Fetch(service: "pricing") {
              {
                ... on Product {
                  __typename
                  id
                }
              } =>
              {
                ... on Product {
                  price
                }
              }
            },
          },
        },
      },
    }
    "#);
}

#[test]
fn picks_the_root_subgraph_that_saves_a_fetch() {
    insta::assert_snapshot!(plan("shareable", r#"{ product(id: "1") { name description } }"#), @r#"
    QueryPlan {
      Fetch(service: "catalog") {
        {
          product(id: "1") {
            name
            description
          }
        }
      },
    }
    "#);
}

#[test]
fn splits_a_shared_root_field_without_key() {
    insta::assert_snapshot!(plan("shareable", "{ settings { locale pageSize } }"), @r#"
    QueryPlan {
      Parallel {
        Fetch(service: "catalog") {
          {
            settings {
              locale
            }
          }
        },
        Fetch(service: "search") {
          {
            settings {
              pageSize
            }
          }
        },
      },
    }
    "#);
}

#[test]
fn a_composite_field_whose_every_selection_is_skipped_asks_for_its_typename() {
    // Found by the fuzzer: it was sent as `product(id: 13)`, which no subgraph accepts.
    insta::assert_snapshot!(
        plan("shareable", "{ product(id: 13) { id @include(if: false) } }"),
        @r#"
    QueryPlan {
      Fetch(service: "catalog") {
        {
          product(id: 13) {
            __typename
          }
        }
      },
    }
    "#
    );
}

/// A sibling root field already fetched from `category` must not keep the rest of `product`
/// from going there (it failed to plan: each subgraph a sibling used counted as tried). Both
/// root fetches to `category` then go as one query (fetch merging).
#[test]
fn splits_a_shared_root_field_onto_a_subgraph_a_sibling_uses() {
    insta::assert_snapshot!(
        plan("shared_root", "{ a0: product { id } product { category { id } name { brand model } } }"),
        @r#"
    QueryPlan {
      Parallel {
        Fetch(service: "category") {
          {
            a0: product {
              id
            }
            product {
              category {
                id
              }
            }
          }
        },
        Fetch(service: "name") {
          {
            product {
              name {
                brand
                model
              }
            }
          }
        },
      },
    }
    "#
    );
}
