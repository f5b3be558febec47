//! Variable and function scopes.
//!
//! PowerShell scopes are dynamic: a function sees the variables of
//! whoever called it, reads walk outwards, and plain assignments write to
//! the innermost (local) scope. Scope 0 is both the global and the script
//! scope: scripts sent by WinRM clients run at the top level of a
//! `powershell.exe` process, where the two coincide.

use std::collections::HashMap;
use std::sync::Arc;

use super::types::PsType;
use super::value::{Str, Value};
use crate::ps::ast;

/// A variable: its value and the type constraint of `[int]$x = ...`.
#[derive(Debug, Clone)]
pub(crate) struct Variable {
    pub(crate) value: Value,
    pub(crate) constraint: Option<PsType>,
}

/// A function or filter definition.
#[derive(Debug, Clone)]
pub(crate) struct FunctionDef {
    pub(crate) name: String,
    pub(crate) body: Arc<ast::ScriptBlock>,
    pub(crate) source: Str,
    pub(crate) is_filter: bool,
}

/// One scope.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    vars: HashMap<String, Variable>,
    functions: HashMap<String, Arc<FunctionDef>>,
}

/// The scope stack; index 0 is global.
#[derive(Debug, Clone)]
pub(crate) struct Scopes {
    stack: Vec<Scope>,
}

impl Default for Scopes {
    fn default() -> Self {
        Self {
            stack: vec![Scope::default()],
        }
    }
}

fn key(name: &str) -> String {
    name.to_lowercase()
}

impl Scopes {
    /// Enters a new innermost scope.
    pub(crate) fn push(&mut self, scope: Scope) {
        self.stack.push(scope);
    }

    /// Leaves the innermost scope (never the global one) and returns it.
    pub(crate) fn pop(&mut self) -> Scope {
        if self.stack.len() > 1 {
            self.stack.pop().unwrap_or_default()
        } else {
            Scope::default()
        }
    }

    /// A variable's value, looking outwards.
    pub(crate) fn get(&self, name: &str) -> Option<Value> {
        let k = key(name);
        self.stack
            .iter()
            .rev()
            .find_map(|s| s.vars.get(&k))
            .map(|v| v.value.clone())
    }

    /// A variable's value in the global scope.
    pub(crate) fn get_global(&self, name: &str) -> Option<Value> {
        self.stack
            .first()
            .and_then(|s| s.vars.get(&key(name)))
            .map(|v| v.value.clone())
    }

    /// The type constraint of the local variable `name`, if any.
    pub(crate) fn local_constraint(&self, name: &str) -> Option<PsType> {
        self.stack
            .last()
            .and_then(|s| s.vars.get(&key(name)))
            .and_then(|v| v.constraint.clone())
    }

    /// The type constraint of the global variable `name`, if any.
    pub(crate) fn global_constraint(&self, name: &str) -> Option<PsType> {
        self.stack
            .first()
            .and_then(|s| s.vars.get(&key(name)))
            .and_then(|v| v.constraint.clone())
    }

    /// Sets `name` in the innermost scope, keeping its constraint.
    pub(crate) fn set_local(&mut self, name: &str, value: Value) {
        if let Some(scope) = self.stack.last_mut() {
            set_in(scope, name, value, None);
        }
    }

    /// Sets `name` in the innermost scope with a new constraint.
    pub(crate) fn set_local_constrained(&mut self, name: &str, value: Value, constraint: PsType) {
        if let Some(scope) = self.stack.last_mut() {
            set_in(scope, name, value, Some(constraint));
        }
    }

    /// Sets `name` in the global (= script) scope.
    pub(crate) fn set_global(&mut self, name: &str, value: Value) {
        if let Some(scope) = self.stack.first_mut() {
            set_in(scope, name, value, None);
        }
    }

    /// Removes `name` from the innermost scope that has it.
    pub(crate) fn remove(&mut self, name: &str) -> bool {
        let k = key(name);
        for scope in self.stack.iter_mut().rev() {
            if scope.vars.remove(&k).is_some() {
                return true;
            }
        }
        false
    }

    /// Defines a function in the innermost scope.
    pub(crate) fn define_function(&mut self, def: FunctionDef) {
        if let Some(scope) = self.stack.last_mut() {
            scope.functions.insert(key(&def.name), Arc::new(def));
        }
    }

    /// A function by name, looking outwards.
    pub(crate) fn function(&self, name: &str) -> Option<Arc<FunctionDef>> {
        let k = key(name);
        self.stack
            .iter()
            .rev()
            .find_map(|s| s.functions.get(&k))
            .cloned()
    }

    /// Removes a function.
    pub(crate) fn remove_function(&mut self, name: &str) -> bool {
        let k = key(name);
        for scope in self.stack.iter_mut().rev() {
            if scope.functions.remove(&k).is_some() {
                return true;
            }
        }
        false
    }

    /// How many scopes are on the stack.
    pub(crate) fn depth(&self) -> usize {
        self.stack.len()
    }

    /// Drops scopes above `depth` (after an aborted run).
    pub(crate) fn truncate(&mut self, depth: usize) {
        self.stack.truncate(depth.max(1));
    }

    /// Names of every visible variable (innermost wins).
    pub(crate) fn visible_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .stack
            .iter()
            .flat_map(|s| s.vars.keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

fn set_in(scope: &mut Scope, name: &str, value: Value, constraint: Option<PsType>) {
    let k = key(name);
    match scope.vars.get_mut(&k) {
        Some(var) => {
            var.value = value;
            if constraint.is_some() {
                var.constraint = constraint;
            }
        }
        None => {
            scope.vars.insert(k, Variable { value, constraint });
        }
    }
}
