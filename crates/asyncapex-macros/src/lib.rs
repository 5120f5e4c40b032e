//! The `#[future]` attribute of asyncapex. Use it through `asyncapex::future`; the
//! documentation lives there.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Error, Expr, FnArg, ItemFn, Lit, LitStr, MetaNameValue, Pat, Token, Type};

/// Options of the attribute: `callout = true`, `time_limit_ms = 5000`, `class = "Billing"`.
struct Options {
    callout: bool,
    time_limit_ms: Option<u64>,
    class: Option<LitStr>,
}

impl Parse for Options {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut options = Options {
            callout: false,
            time_limit_ms: None,
            class: None,
        };
        let pairs = Punctuated::<MetaNameValue, Token![,]>::parse_terminated(input)?;
        for pair in pairs {
            let key = pair
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            let lit = match &pair.value {
                Expr::Lit(l) => l.lit.clone(),
                other => {
                    return Err(Error::new(
                        other.span(),
                        "expected a literal value, e.g. `callout = true`",
                    ));
                }
            };
            match (key.as_str(), lit) {
                ("callout", Lit::Bool(b)) => options.callout = b.value,
                ("time_limit_ms", Lit::Int(i)) => options.time_limit_ms = Some(i.base10_parse()?),
                ("class", Lit::Str(s)) => options.class = Some(s),
                ("callout" | "time_limit_ms" | "class", other) => {
                    return Err(Error::new(
                        other.span(),
                        format!(
                            "wrong kind of value for `{key}`: `callout` takes true or false, `time_limit_ms` an integer, `class` a string"
                        ),
                    ));
                }
                _ => {
                    return Err(Error::new(
                        pair.path.span(),
                        format!(
                            "unknown option `{key}`; #[future] accepts `callout`, `time_limit_ms` and `class`"
                        ),
                    ));
                }
            }
        }
        Ok(options)
    }
}

/// Turns an `async fn` whose arguments are serde types into an asyncapex future method.
#[proc_macro_attribute]
pub fn future(attr: TokenStream, item: TokenStream) -> TokenStream {
    let options = syn::parse_macro_input!(attr as Options);
    let func = syn::parse_macro_input!(item as ItemFn);
    match expand(options, func) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn is_context(ty: &Type) -> bool {
    let Type::Reference(r) = ty else {
        return false;
    };
    let Type::Path(p) = &*r.elem else {
        return false;
    };
    r.mutability.is_some()
        && p.path
            .segments
            .last()
            .is_some_and(|s| s.ident == "FutureContext")
}

fn expand(options: Options, func: ItemFn) -> syn::Result<proc_macro2::TokenStream> {
    let sig = &func.sig;
    if sig.asyncness.is_none() {
        return Err(Error::new(
            sig.fn_token.span(),
            "#[future] goes on an `async fn`",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(Error::new(
            sig.generics.span(),
            "#[future] methods cannot be generic: the engine must know the argument types to deserialize them",
        ));
    }
    let name = &sig.ident;
    let vis = &func.vis;
    let mut takes_context = false;
    let mut arg_names = Vec::new();
    let mut arg_types = Vec::new();
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(r) => {
                return Err(Error::new(
                    r.span(),
                    "#[future] goes on a free function, not a method with `self`",
                ));
            }
            FnArg::Typed(pt) => {
                if i == 0 && is_context(&pt.ty) {
                    takes_context = true;
                    continue;
                }
                let Pat::Ident(id) = &*pt.pat else {
                    return Err(Error::new(
                        pt.pat.span(),
                        "#[future] arguments must be plain names (`order_id: u64`), not patterns",
                    ));
                };
                if matches!(&*pt.ty, Type::Reference(_)) {
                    return Err(Error::new(
                        pt.ty.span(),
                        "#[future] arguments are stored and run later, so they must be owned serde types (`String`, not `&str`)",
                    ));
                }
                arg_names.push(id.ident.clone());
                arg_types.push((*pt.ty).clone());
            }
        }
    }
    let method = name.to_string();
    let class = match &options.class {
        Some(c) => quote!(#c),
        None => quote!(::core::module_path!()),
    };
    let callout = options.callout;
    let time_limit = match options.time_limit_ms {
        Some(ms) => quote!(::core::option::Option::Some(#ms)),
        None => quote!(::core::option::Option::None),
    };
    let keys: Vec<LitStr> = arg_names
        .iter()
        .map(|n| LitStr::new(&n.to_string(), Span::call_site()))
        .collect();
    let asserts = arg_types.iter().map(|ty| {
        quote_spanned! {ty.span()=>
            ::asyncapex::__private::assert_future_arg::<#ty>();
        }
    });
    let call_args = if takes_context {
        quote!(&mut __asyncapex_ctx, #(#arg_names),*)
    } else {
        quote!(#(#arg_names),*)
    };
    let ctx_binding = if takes_context {
        quote!(let mut __asyncapex_ctx = __asyncapex_ctx;)
    } else {
        quote!(let _ = __asyncapex_ctx;)
    };
    let doc_future = format!(
        "Calls [`{method}`](fn@super::{method}) later, in its own execution, and returns the `707…` ID of its job record (an asyncapex extension: Apex returns nothing). Committed with the caller's success when called from inside a job."
    );
    let doc_mod = format!(
        "The asyncapex future method generated from [`{method}`](fn@{method}): call it later with `{method}::future(&engine_or_context, …)`."
    );
    let method_const = format_ident!("METHOD");
    Ok(quote! {
        #func

        #[doc = #doc_mod]
        #vis mod #name {
            #[allow(unused_imports)]
            use super::*;

            /// How the engine finds and runs this future method.
            pub static #method_const: ::asyncapex::FutureMethod = ::asyncapex::FutureMethod::__new(
                #class,
                #method,
                #callout,
                #time_limit,
                __run,
            );

            #[doc = #doc_future]
            pub async fn future(
                __asyncapex_target: &(impl ::asyncapex::FutureTarget + ?::core::marker::Sized),
                #(#arg_names: #arg_types),*
            ) -> ::core::result::Result<::asyncapex::JobId, ::asyncapex::Error> {
                let mut __asyncapex_args = ::asyncapex::__private::FutureArgs::new(&#method_const);
                #( __asyncapex_args.put(#keys, &#arg_names)?; )*
                ::asyncapex::FutureTarget::__enqueue_future(
                    __asyncapex_target,
                    &#method_const,
                    __asyncapex_args.finish(),
                )
                .await
            }

            #[allow(dead_code)]
            fn __assert_args() {
                #(#asserts)*
            }

            fn __run(
                __asyncapex_payload: ::std::string::String,
                __asyncapex_ctx: ::asyncapex::FutureContext,
            ) -> ::asyncapex::__private::JobFuture {
                ::std::boxed::Box::pin(async move {
                    let mut __asyncapex_args = ::asyncapex::__private::FutureArgs::parse(
                        &#method_const,
                        &__asyncapex_payload,
                    )?;
                    #( let #arg_names: #arg_types = __asyncapex_args.take(#keys)?; )*
                    #ctx_binding
                    ::asyncapex::__private::FutureOutput::into_result(super::#name(#call_args).await)
                })
            }

            ::asyncapex::__private::inventory::submit! {
                ::asyncapex::__private::FutureRegistration(&#method_const)
            }
        }
    })
}
