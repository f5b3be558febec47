//! Custom properties: New-SCCustomProperty, Set-/Get-/Remove-SCCustomPropertyValue.
//! The definition must exist before a value is set (willemm fails with
//! "Custom Property not found" otherwise); values live on the objects and
//! show in their `CustomProperty` dictionary.

use uuid::Uuid;

use super::super::Vmm;
use super::super::config::Op;
use super::super::enums::MemberType;
use super::super::errors::{VmmError, VmmResult};
use super::super::jobs::JobSpec;
use super::super::objects::{CustomPropertyDef, Job, JobEffect};
use super::super::specs::StagedItem;
use super::super::value::{ObjectKind, ObjectRef};
use super::Ref;

/// New-SCCustomProperty.
#[derive(Clone, Debug, PartialEq)]
pub struct NewCustomProperty {
    /// `[-Name]`.
    pub name: String,
    /// `-Description`.
    pub description: String,
    /// `-AddMember`.
    pub members: Vec<MemberType>,
}

/// Set-SCCustomPropertyValue.
#[derive(Clone, Debug, PartialEq)]
pub struct SetCustomPropertyValue {
    /// `-InputObject` (a VM, template, host, host group or cloud).
    /// Ignored with `job_group`.
    pub input: Option<ObjectRef>,
    /// `-CustomProperty`.
    pub property: Ref,
    /// `-Value`.
    pub value: String,
    /// `-JobGroup`: stage for the next final command instead.
    pub job_group: Option<Uuid>,
}

/// A `CustomPropertyValue` (Get-SCCustomPropertyValue).
#[derive(Clone, Debug, PartialEq)]
pub struct CustomPropertyValue {
    /// The definition.
    pub property: CustomPropertyDef,
    /// The object.
    pub object: ObjectRef,
    /// The value.
    pub value: String,
}

fn member_of(kind: ObjectKind) -> Option<MemberType> {
    match kind {
        ObjectKind::VirtualMachine => Some(MemberType::VM),
        ObjectKind::Template => Some(MemberType::Template),
        ObjectKind::Host => Some(MemberType::VMHost),
        ObjectKind::HostCluster => Some(MemberType::HostCluster),
        ObjectKind::HostGroup => Some(MemberType::VMHostGroup),
        ObjectKind::Cloud => Some(MemberType::Cloud),
        _ => None,
    }
}

impl Vmm {
    /// New-SCCustomProperty.
    pub fn new_custom_property(&mut self, req: &NewCustomProperty) -> VmmResult<CustomPropertyDef> {
        const CMDLET: &str = "New-SCCustomProperty";
        self.settle();
        if req.name.trim().is_empty() {
            return Err(VmmError::invalid_parameter(
                CMDLET,
                "The argument for 'Name' is empty.",
            ));
        }
        if self.inventory.custom_property_by_name(&req.name).is_some() {
            return Err(VmmError::in_use(
                "CustomProperty",
                &req.name,
                "CustomProperty",
            ));
        }
        let def = CustomPropertyDef {
            id: self.new_id(),
            name: req.name.clone(),
            description: req.description.clone(),
            members: req.members.clone(),
        };
        self.inventory.custom_properties.push(def.clone());
        Ok(def)
    }

    fn custom_properties_of(
        &self,
        target: ObjectRef,
    ) -> Option<&std::collections::BTreeMap<String, String>> {
        match target.kind {
            ObjectKind::VirtualMachine => self.state.vm(target.id).map(|v| &v.custom_properties),
            ObjectKind::Template => self
                .inventory
                .template(target.id)
                .map(|t| &t.custom_properties),
            ObjectKind::Host => self.inventory.host(target.id).map(|h| &h.custom_properties),
            ObjectKind::HostGroup => self
                .inventory
                .host_group(target.id)
                .map(|g| &g.custom_properties),
            ObjectKind::Cloud => self
                .inventory
                .cloud(target.id)
                .map(|c| &c.custom_properties),
            _ => None,
        }
    }

    /// Sets (or with `None` removes) a custom property value on an object.
    pub(crate) fn store_custom_property(
        &mut self,
        target: ObjectRef,
        property: &str,
        value: Option<String>,
    ) -> VmmResult<()> {
        let id = target.id;
        let map = match target.kind {
            ObjectKind::VirtualMachine => self.state.vm_mut(id).map(|v| &mut v.custom_properties),
            ObjectKind::Template => self
                .inventory
                .templates
                .iter_mut()
                .find(|t| t.id == id)
                .map(|t| &mut t.custom_properties),
            ObjectKind::Host => self
                .inventory
                .host_mut(id)
                .map(|h| &mut h.custom_properties),
            ObjectKind::HostGroup => self
                .inventory
                .host_groups
                .iter_mut()
                .find(|g| g.id == id)
                .map(|g| &mut g.custom_properties),
            ObjectKind::Cloud => self
                .inventory
                .clouds
                .iter_mut()
                .find(|c| c.id == id)
                .map(|c| &mut c.custom_properties),
            _ => None,
        }
        .ok_or_else(|| VmmError::not_found(target.kind.display_name(), &id.to_string()))?;
        match value {
            Some(v) => {
                map.insert(property.to_string(), v);
            }
            None => {
                map.remove(property);
            }
        }
        Ok(())
    }

    fn custom_property_target(
        &mut self,
        input: Option<ObjectRef>,
        property: &Ref,
        cmdlet: &str,
    ) -> VmmResult<(ObjectRef, CustomPropertyDef)> {
        let pid = self.resolve_custom_property(property, cmdlet)?;
        let def = self
            .inventory
            .custom_properties
            .iter()
            .find(|c| c.id == pid)
            .cloned()
            .ok_or_else(|| VmmError::not_found("CustomProperty", &pid.to_string()))?;
        let target = input.ok_or_else(|| {
            VmmError::invalid_parameter(
                cmdlet,
                "Cannot validate argument on parameter 'InputObject'. The argument is null.",
            )
        })?;
        let member = member_of(target.kind).ok_or_else(|| {
            VmmError::custom_property_member(&def.name, target.kind.display_name())
        })?;
        if !def.members.contains(&member) {
            return Err(VmmError::custom_property_member(
                &def.name,
                target.kind.display_name(),
            ));
        }
        if self.custom_properties_of(target).is_none() {
            return Err(VmmError::not_found(
                target.kind.display_name(),
                &target.id.to_string(),
            ));
        }
        Ok((target, def))
    }

    fn custom_property_job(
        &mut self,
        cmdlet: &'static str,
        target: ObjectRef,
        property: &str,
        value: Option<String>,
    ) -> VmmResult<Job> {
        let name = self.view(target).map(|v| v.display).unwrap_or_default();
        self.ensure_unlocked(&[target.id])?;
        let injected = self.inject(cmdlet, &name, None)?;
        let duration = self.job_duration(Op::SetCustomProperty, &injected);
        let owner = self.default_owner();
        let job = self.submit_job(JobSpec {
            cmdlet,
            name_key: "Set-SCCustomPropertyValue",
            target: Some(target),
            result_name: name,
            locks: vec![target.id],
            effect: JobEffect::SetCustomProperty {
                target,
                property: property.to_string(),
                value,
            },
            duration,
            fault: injected.job,
            owner,
            system: false,
        });
        self.settle();
        Ok(self.state.job(job.id).cloned().unwrap_or(job))
    }

    /// Set-SCCustomPropertyValue: a short job that sets the value (the
    /// object is locked meanwhile, so setting it on a VM under creation
    /// fails with 2602; stage it with `-JobGroup` instead). With
    /// `job_group` the value is staged and `None` returned.
    pub fn set_custom_property_value(
        &mut self,
        req: &SetCustomPropertyValue,
    ) -> VmmResult<Option<(CustomPropertyValue, Job)>> {
        const CMDLET: &str = "Set-SCCustomPropertyValue";
        self.settle();
        if let Some(g) = req.job_group {
            let pid = self.resolve_custom_property(&req.property, CMDLET)?;
            let name = self
                .inventory
                .custom_properties
                .iter()
                .find(|c| c.id == pid)
                .map(|c| c.name.clone())
                .unwrap_or_default();
            self.state
                .staged
                .entry(g)
                .or_default()
                .push(StagedItem::CustomProperty {
                    name,
                    value: req.value.clone(),
                });
            return Ok(None);
        }
        let (target, def) = self.custom_property_target(req.input, &req.property, CMDLET)?;
        let job = self.custom_property_job(CMDLET, target, &def.name, Some(req.value.clone()))?;
        Ok(Some((
            CustomPropertyValue {
                property: def,
                object: target,
                value: req.value.clone(),
            },
            job,
        )))
    }

    /// Get-SCCustomPropertyValue: `None` when the object has no value.
    pub fn get_custom_property_value(
        &mut self,
        input: ObjectRef,
        property: &Ref,
    ) -> VmmResult<Option<CustomPropertyValue>> {
        const CMDLET: &str = "Get-SCCustomPropertyValue";
        self.settle();
        let (target, def) = self.custom_property_target(Some(input), property, CMDLET)?;
        Ok(self
            .custom_properties_of(target)
            .and_then(|m| m.get(&def.name))
            .cloned()
            .map(|value| CustomPropertyValue {
                property: def,
                object: target,
                value,
            }))
    }

    /// Remove-SCCustomPropertyValue.
    pub fn remove_custom_property_value(
        &mut self,
        input: ObjectRef,
        property: &Ref,
    ) -> VmmResult<Job> {
        const CMDLET: &str = "Remove-SCCustomPropertyValue";
        self.settle();
        let (target, def) = self.custom_property_target(Some(input), property, CMDLET)?;
        self.custom_property_job(CMDLET, target, &def.name, None)
    }
}
