//! Attribute macros of `seedwatch-agent`; use them through that crate
//! (`#[seedwatch_agent::tool]`, `#[seedwatch_agent::timed]`).

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::parse::Parser as _;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, ItemFn, Lit, LitStr, Meta, ReturnType, Token, Type, parse_macro_input};

/// Records each call of a function as a tool execution: an `execute_tool` span, the tool
/// metrics and an audit record. A function returning `Result` fails when it returns `Err`
/// (`error.type` is the error's type name); other functions always succeed.
///
/// `#[tool]` names the tool after the function; `#[tool(name = "run_metabolic_fba")]` names it.
/// Works on `async fn` (the span follows the future) and plain functions.
#[proc_macro_attribute]
pub fn tool(args: TokenStream, item: TokenStream) -> TokenStream {
    let function = parse_macro_input!(item as ItemFn);
    match name_argument(args.into(), "name") {
        Ok(name) => expand_tool(function, name).into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Measures each call of a function with `seedwatch_agent::measure`: the duration in
/// `modelseed.operation.duration{operation}` and a span. `#[timed]` uses the function's name,
/// `#[timed("model_analysis")]` or `#[timed(name = "model_analysis")]` a name of your own.
#[proc_macro_attribute]
pub fn timed(args: TokenStream, item: TokenStream) -> TokenStream {
    let function = parse_macro_input!(item as ItemFn);
    let args: TokenStream2 = args.into();
    let name = match syn::parse2::<LitStr>(args.clone()) {
        Ok(lit) => Ok(Some(lit.value())),
        Err(_) => name_argument(args, "name"),
    };
    match name {
        Ok(name) => expand_timed(function, name).into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Reads `key = "value"` from the arguments; nothing when they are empty.
fn name_argument(args: TokenStream2, key: &str) -> syn::Result<Option<String>> {
    if args.is_empty() {
        return Ok(None);
    }
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    let mut name = None;
    for meta in metas {
        match meta {
            Meta::NameValue(nv) if nv.path.is_ident(key) => match nv.value {
                Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => name = Some(s.value()),
                other => return Err(syn::Error::new_spanned(other, format!("`{key}` takes a string literal"))),
            },
            other => return Err(syn::Error::new_spanned(other, format!("expected `{key} = \"...\"`"))),
        }
    }
    Ok(name)
}

/// True when the declared return type is a path ending in `Result`.
fn returns_result(output: &ReturnType) -> bool {
    match output {
        ReturnType::Type(_, ty) => match ty.as_ref() {
            Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Result"),
            _ => false,
        },
        ReturnType::Default => false,
    }
}

fn expand_tool(mut function: ItemFn, name: Option<String>) -> TokenStream2 {
    let name = name.unwrap_or_else(|| function.sig.ident.to_string());
    let body = &function.block;
    let output = &function.sig.output;
    let finish = if returns_result(output) {
        quote! { ::seedwatch_agent::__private::finish_result(__seedwatch_call, &__seedwatch_result); }
    } else {
        quote! { ::seedwatch_agent::__private::finish_plain(__seedwatch_call); }
    };
    let ret = match output {
        ReturnType::Type(_, ty) => quote! { #ty },
        ReturnType::Default => quote! { () },
    };
    let new_body = if function.sig.asyncness.is_some() {
        quote! {{
            let __seedwatch_call = ::seedwatch_agent::ToolCall::start(#name);
            let __seedwatch_result: #ret = __seedwatch_call.run(async move #body).await;
            #finish
            __seedwatch_result
        }}
    } else {
        quote! {{
            let __seedwatch_call = ::seedwatch_agent::ToolCall::start(#name);
            let __seedwatch_result: #ret = {
                let _entered = __seedwatch_call.enter();
                (move || -> #ret #body)()
            };
            #finish
            __seedwatch_result
        }}
    };
    match syn::parse2::<syn::Block>(new_body) {
        Ok(block) => *function.block = block,
        Err(e) => return e.to_compile_error(),
    }
    quote! { #function }
}

fn expand_timed(mut function: ItemFn, name: Option<String>) -> TokenStream2 {
    let name = name.unwrap_or_else(|| function.sig.ident.to_string());
    let body = &function.block;
    let new_body = quote! {{
        let __seedwatch_measurement = ::seedwatch_agent::measure(#name);
        #body
    }};
    match syn::parse2::<syn::Block>(new_body) {
        Ok(block) => *function.block = block,
        Err(e) => return e.to_compile_error(),
    }
    quote! { #function }
}
