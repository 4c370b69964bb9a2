//! The Vulkan driver's own statistics for the lanes kernels the decode runs (registers, spills,
//! instruction counts: whatever the driver reports through `VK_KHR_pipeline_executable_properties`),
//! and with `HEADROOM_STATS_IR=DIR` its internal representations (ISA or IR text, where it gives any).
//!
//! wgpu does not expose that extension, so this builds each kernel as the decode's pipelines are
//! built (the WGSL of `measure::lanes::kernel_source` at the committed shapes, naga's SPIR-V with
//! bounds checks, loop bounding and division checks off, as `create_shader_module_trusted` with
//! `ShaderRuntimeChecks::unchecked()`) on a Vulkan device of its own. Timings say which kernel is
//! faster; these numbers help say why (docs/benchmarks.md, round 6: variants with fewer operations
//! but more live values measured slower).
//!
//! ```sh
//! cargo run --release --example pipeline_stats                  # every lanes type, 1 GiB and decode shapes
//! cargo run --release --example pipeline_stats -- Q3_K MXFP4    # some types
//! HEADROOM_STATS_SHAPE=32,4,4,2,1 cargo run --release --example pipeline_stats -- MXFP4
//! HEADROOM_STATS_IR=/tmp/ir cargo run --release --example pipeline_stats -- Q3_K
//! ```

#[cfg(target_os = "macos")]
fn main() {
    eprintln!("pipeline_stats: Vulkan only (VK_KHR_pipeline_executable_properties)");
}

#[cfg(not(target_os = "macos"))]
fn main() -> std::process::ExitCode {
    match stats::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pipeline_stats: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

#[cfg(not(target_os = "macos"))]
mod stats {
    use ash::vk;
    use headroom::measure::decode::Encoding;
    use headroom::measure::dequant::SUPPORTED;
    use headroom::measure::gpu::Shape;
    use headroom::measure::lanes::{committed_shape, kernel_source, lanes_kernel, parse_shape};

    /// Rows of the 1 GiB benchmark matrices' size class (over 65 536) and of a decode product.
    const BIG_ROWS: u64 = 500_000;
    const DECODE_ROWS: u64 = 4096;

    /// A Vulkan device, with `VK_KHR_pipeline_executable_properties` on where the driver offers it.
    struct Dev {
        _entry: ash::Entry,
        instance: ash::Instance,
        device: ash::Device,
        pep: Option<ash::khr::pipeline_executable_properties::Device>,
        name: String,
        subgroup: u32,
        spv_version: (u8, u8),
    }

    impl Drop for Dev {
        fn drop(&mut self) {
            unsafe {
                self.device.destroy_device(None);
                self.instance.destroy_instance(None);
            }
        }
    }

    fn vkerr(what: &str) -> impl Fn(vk::Result) -> String + '_ {
        move |e| format!("{what}: {e}")
    }

    fn open() -> Result<Dev, String> {
        let entry = unsafe { ash::Entry::load() }.map_err(|e| {
            format!("no Vulkan loader ({e}); install one (libvulkan1) and a driver")
        })?;
        let app = vk::ApplicationInfo::default().api_version(vk::API_VERSION_1_3);
        let instance = unsafe {
            entry.create_instance(
                &vk::InstanceCreateInfo::default().application_info(&app),
                None,
            )
        }
        .map_err(vkerr("vkCreateInstance"))?;
        let ext = ash::khr::pipeline_executable_properties::NAME;
        let pds = unsafe { instance.enumerate_physical_devices() }
            .map_err(vkerr("vkEnumeratePhysicalDevices"))?;
        // devices with the extension first, then discrete GPUs first
        let mut cands: Vec<(vk::PhysicalDevice, vk::PhysicalDeviceProperties, bool)> = pds
            .iter()
            .map(|&pd| {
                let has = unsafe { instance.enumerate_device_extension_properties(pd) }
                    .is_ok_and(|es| es.iter().any(|e| e.extension_name_as_c_str() == Ok(ext)));
                (
                    pd,
                    unsafe { instance.get_physical_device_properties(pd) },
                    has,
                )
            })
            .collect();
        cands.sort_by_key(|(_, p, has)| {
            (!has, p.device_type != vk::PhysicalDeviceType::DISCRETE_GPU)
        });
        let Some(&(pd, props, has_ext)) = cands.first() else {
            unsafe { instance.destroy_instance(None) };
            return Err("no Vulkan device".to_string());
        };
        let name = text(props.device_name_as_c_str());
        // the smallest subgroup size, as wgpu reports it (the lanes reduction is chosen by it)
        let mut p13 = vk::PhysicalDeviceVulkan13Properties::default();
        let mut sg = vk::PhysicalDeviceSubgroupProperties::default();
        let mut p2 = vk::PhysicalDeviceProperties2::default()
            .push_next(&mut p13)
            .push_next(&mut sg);
        unsafe { instance.get_physical_device_properties2(pd, &mut p2) };
        let ops = vk::SubgroupFeatureFlags::BASIC
            | vk::SubgroupFeatureFlags::ARITHMETIC
            | vk::SubgroupFeatureFlags::SHUFFLE;
        let subgroup = if sg.supported_operations.contains(ops)
            && sg.supported_stages.contains(vk::ShaderStageFlags::COMPUTE)
        {
            p13.min_subgroup_size.max(1)
        } else {
            0
        };
        let api = props.api_version;
        let spv_version = if api >= vk::API_VERSION_1_3 {
            (1, 6)
        } else if api >= vk::API_VERSION_1_2 {
            (1, 5)
        } else {
            (1, 3)
        };
        let qf = unsafe { instance.get_physical_device_queue_family_properties(pd) }
            .iter()
            .position(|q| q.queue_flags.contains(vk::QueueFlags::COMPUTE))
            .ok_or("the device has no compute queue")? as u32;
        let prio = [1.0f32];
        let qci = [vk::DeviceQueueCreateInfo::default()
            .queue_family_index(qf)
            .queue_priorities(&prio)];
        let mut f13 = vk::PhysicalDeviceVulkan13Features::default();
        let mut f2 = vk::PhysicalDeviceFeatures2::default().push_next(&mut f13);
        unsafe { instance.get_physical_device_features2(pd, &mut f2) };
        let dot = f13.shader_integer_dot_product;
        let mut pep_f = vk::PhysicalDevicePipelineExecutablePropertiesFeaturesKHR::default()
            .pipeline_executable_info(true);
        let mut f13 = vk::PhysicalDeviceVulkan13Features::default()
            .shader_integer_dot_product(dot == vk::TRUE);
        let exts = [ext.as_ptr()];
        let mut dci = vk::DeviceCreateInfo::default()
            .queue_create_infos(&qci)
            .push_next(&mut f13);
        if has_ext {
            dci = dci.enabled_extension_names(&exts).push_next(&mut pep_f);
        }
        let device = match unsafe { instance.create_device(pd, &dci, None) } {
            Ok(d) => d,
            Err(e) => {
                unsafe { instance.destroy_instance(None) };
                return Err(format!("vkCreateDevice on {name}: {e}"));
            }
        };
        let pep = has_ext
            .then(|| ash::khr::pipeline_executable_properties::Device::new(&instance, &device));
        Ok(Dev {
            _entry: entry,
            instance,
            device,
            pep,
            name,
            subgroup,
            spv_version,
        })
    }

    /// SPIR-V of `src` as the decode's pipelines get it (trusted module, runtime checks off).
    fn spirv(src: &str, version: (u8, u8)) -> Result<(Vec<u32>, naga::Module), String> {
        let module = naga::front::wgsl::parse_str(src).map_err(|e| e.emit_to_string(src))?;
        let info = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        )
        .validate(&module)
        .map_err(|e| format!("{:?}", e.into_inner()))?;
        let unchecked = naga::proc::BoundsCheckPolicy::Unchecked;
        let opts = naga::back::spv::Options {
            lang_version: version,
            bounds_check_policies: naga::proc::BoundsCheckPolicies {
                index: unchecked,
                buffer: unchecked,
                image_load: unchecked,
                binding_array: unchecked,
            },
            force_loop_bounding: false,
            emit_int_div_checks: false,
            zero_initialize_workgroup_memory:
                naga::back::spv::ZeroInitializeWorkgroupMemoryMode::Native,
            ..Default::default()
        };
        let po = naga::back::spv::PipelineOptions {
            shader_stage: naga::ShaderStage::Compute,
            entry_point: "main".into(),
        };
        let words = naga::back::spv::write_vec(&module, &info, &opts, Some(&po))
            .map_err(|e| format!("SPIR-V: {e}"))?;
        Ok((words, module))
    }

    /// One compiled kernel's statistics (name, value as text) and internal representations.
    struct Report {
        stats: Vec<(String, String)>,
        ir: Vec<(String, String)>,
    }

    fn compile(
        dev: &Dev,
        words: &[u32],
        module: &naga::Module,
        want_ir: bool,
    ) -> Result<Report, String> {
        let d = &dev.device;
        let mut bindings: Vec<vk::DescriptorSetLayoutBinding> = module
            .global_variables
            .iter()
            .filter_map(|(_, g)| {
                let b = g.binding.as_ref()?;
                let ty = match g.space {
                    naga::AddressSpace::Uniform => vk::DescriptorType::UNIFORM_BUFFER,
                    naga::AddressSpace::Storage { .. } => vk::DescriptorType::STORAGE_BUFFER,
                    _ => return None,
                };
                Some(
                    vk::DescriptorSetLayoutBinding::default()
                        .binding(b.binding)
                        .descriptor_type(ty)
                        .descriptor_count(1)
                        .stage_flags(vk::ShaderStageFlags::COMPUTE),
                )
            })
            .collect();
        bindings.sort_by_key(|b| b.binding);
        unsafe {
            let sm = d
                .create_shader_module(&vk::ShaderModuleCreateInfo::default().code(words), None)
                .map_err(vkerr("vkCreateShaderModule"))?;
            let dsl = d
                .create_descriptor_set_layout(
                    &vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings),
                    None,
                )
                .map_err(vkerr("vkCreateDescriptorSetLayout"))?;
            let sets = [dsl];
            let layout = d
                .create_pipeline_layout(
                    &vk::PipelineLayoutCreateInfo::default().set_layouts(&sets),
                    None,
                )
                .map_err(vkerr("vkCreatePipelineLayout"))?;
            let mut flags = vk::PipelineCreateFlags::empty();
            if dev.pep.is_some() {
                flags |= vk::PipelineCreateFlags::CAPTURE_STATISTICS_KHR;
                if want_ir {
                    flags |= vk::PipelineCreateFlags::CAPTURE_INTERNAL_REPRESENTATIONS_KHR;
                }
            }
            let stage = vk::PipelineShaderStageCreateInfo::default()
                .stage(vk::ShaderStageFlags::COMPUTE)
                .module(sm)
                .name(c"main");
            let ci = [vk::ComputePipelineCreateInfo::default()
                .flags(flags)
                .stage(stage)
                .layout(layout)];
            let made = d.create_compute_pipelines(vk::PipelineCache::null(), &ci, None);
            let result = match made {
                Ok(p) => {
                    let r = report(dev, p[0], want_ir);
                    d.destroy_pipeline(p[0], None);
                    r
                }
                Err((_, e)) => Err(format!("vkCreateComputePipelines: {e}")),
            };
            d.destroy_pipeline_layout(layout, None);
            d.destroy_descriptor_set_layout(dsl, None);
            d.destroy_shader_module(sm, None);
            result
        }
    }

    /// A name ash reads out of a driver's fixed-size array (`*_as_c_str`), as text.
    fn text(c: Result<&std::ffi::CStr, std::ffi::FromBytesUntilNulError>) -> String {
        c.map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    unsafe fn report(dev: &Dev, p: vk::Pipeline, want_ir: bool) -> Result<Report, String> {
        let mut out = Report {
            stats: Vec::new(),
            ir: Vec::new(),
        };
        let Some(pep) = &dev.pep else {
            return Ok(out);
        };
        let execs = unsafe {
            pep.get_pipeline_executable_properties(&vk::PipelineInfoKHR::default().pipeline(p))
        }
        .map_err(vkerr("vkGetPipelineExecutablePropertiesKHR"))?;
        for (i, e) in execs.iter().enumerate() {
            let prefix = if execs.len() > 1 {
                format!("{}: ", text(e.name_as_c_str()))
            } else {
                String::new()
            };
            let info = vk::PipelineExecutableInfoKHR::default()
                .pipeline(p)
                .executable_index(i as u32);
            let stats = unsafe { pep.get_pipeline_executable_statistics(&info) }
                .map_err(vkerr("vkGetPipelineExecutableStatisticsKHR"))?;
            for s in &stats {
                let v = unsafe {
                    match s.format {
                        vk::PipelineExecutableStatisticFormatKHR::BOOL32 => {
                            (s.value.b32 == vk::TRUE).to_string()
                        }
                        vk::PipelineExecutableStatisticFormatKHR::INT64 => s.value.i64.to_string(),
                        vk::PipelineExecutableStatisticFormatKHR::UINT64 => s.value.u64.to_string(),
                        vk::PipelineExecutableStatisticFormatKHR::FLOAT64 => {
                            format!("{:.3}", s.value.f64)
                        }
                        _ => "?".to_string(),
                    }
                };
                out.stats
                    .push((format!("{prefix}{}", text(s.name_as_c_str())), v));
            }
            if want_ir {
                out.ir
                    .extend(unsafe { internal_representations(dev, pep, &info) }?);
            }
        }
        Ok(out)
    }

    /// The two-call query of the internal representations (sizes, then the text).
    unsafe fn internal_representations(
        dev: &Dev,
        pep: &ash::khr::pipeline_executable_properties::Device,
        info: &vk::PipelineExecutableInfoKHR<'_>,
    ) -> Result<Vec<(String, String)>, String> {
        let f = pep
            .fp()
            .get_pipeline_executable_internal_representations_khr;
        let h = dev.device.handle();
        let mut n = 0u32;
        unsafe { f(h, info, &mut n, std::ptr::null_mut()) }
            .result()
            .map_err(vkerr("vkGetPipelineExecutableInternalRepresentationsKHR"))?;
        let mut reps = vec![vk::PipelineExecutableInternalRepresentationKHR::default(); n as usize];
        unsafe { f(h, info, &mut n, reps.as_mut_ptr()) }
            .result()
            .map_err(vkerr("vkGetPipelineExecutableInternalRepresentationsKHR"))?;
        // sizes are the driver's own (not read from any file); cap them anyway
        let mut bufs: Vec<Vec<u8>> = reps
            .iter()
            .map(|r| vec![0u8; r.data_size.min(64 << 20)])
            .collect();
        for (r, b) in reps.iter_mut().zip(bufs.iter_mut()) {
            r.data_size = b.len();
            r.p_data = b.as_mut_ptr().cast();
        }
        unsafe { f(h, info, &mut n, reps.as_mut_ptr()) }
            .result()
            .map_err(vkerr("vkGetPipelineExecutableInternalRepresentationsKHR"))?;
        Ok(reps
            .iter()
            .zip(bufs)
            .map(|(r, b)| {
                let body = if r.is_text == vk::TRUE {
                    String::from_utf8_lossy(&b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())])
                        .into_owned()
                } else {
                    format!("({} bytes of binary data)", b.len())
                };
                (text(r.name_as_c_str()), body)
            })
            .collect())
    }

    pub fn run() -> Result<(), String> {
        let want: Vec<String> = std::env::args().skip(1).collect();
        let fixed = match std::env::var("HEADROOM_STATS_SHAPE") {
            Ok(v) => Some(parse_shape(&v).ok_or_else(|| {
                format!(
                    "HEADROOM_STATS_SHAPE={v}: not a lanes shape (wg,nr[,qw[,unroll[,written]]])"
                )
            })?),
            Err(_) => None,
        };
        let ir_dir = std::env::var("HEADROOM_STATS_IR")
            .ok()
            .map(std::path::PathBuf::from);
        let encs: Vec<Encoding> = SUPPORTED
            .iter()
            .map(|&t| Encoding::Ggml(t))
            .filter(|&e| lanes_kernel(e).is_some())
            .filter(|e| want.is_empty() || want.iter().any(|w| *w == e.label()))
            .collect();
        if encs.is_empty() {
            return Err(format!(
                "no lanes kernel among {want:?}; the types are {}",
                SUPPORTED
                    .iter()
                    .map(|t| Encoding::Ggml(*t).label())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let dev = open()?;
        println!(
            "device: {}, smallest subgroup {}, SPIR-V {}.{}{}",
            dev.name,
            dev.subgroup,
            dev.spv_version.0,
            dev.spv_version.1,
            if dev.pep.is_some() {
                ""
            } else {
                " (its driver offers no VK_KHR_pipeline_executable_properties: kernels are compiled, no statistics)"
            }
        );
        for enc in encs {
            let shapes: Vec<(&str, Shape)> = match fixed {
                Some(s) => vec![("fixed", s)],
                None => {
                    let big = committed_shape(enc, BIG_ROWS);
                    let small = committed_shape(enc, DECODE_ROWS);
                    if big.label() == small.label() {
                        vec![("1 GiB + decode", big)]
                    } else {
                        vec![("1 GiB", big), ("decode", small)]
                    }
                }
            };
            for (what, shape) in shapes {
                let Some(src) = kernel_source(enc, shape, dev.subgroup) else {
                    continue;
                };
                let (words, module) = spirv(&src, dev.spv_version)
                    .map_err(|e| format!("{} {}: {e}", enc.label(), shape.label()))?;
                let r = compile(&dev, &words, &module, ir_dir.is_some())
                    .map_err(|e| format!("{} {}: {e}", enc.label(), shape.label()))?;
                let mut stats: Vec<String> =
                    r.stats.iter().map(|(k, v)| format!("{k}={v}")).collect();
                if stats.is_empty() {
                    stats.push("-".into());
                }
                println!(
                    "| {} | {} | {what} | {} |",
                    enc.label(),
                    shape.label(),
                    stats.join(", ")
                );
                if let Some(dir) = &ir_dir {
                    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                    for (i, (name, body)) in r.ir.iter().enumerate() {
                        let f = dir.join(format!(
                            "{}_{}_{i}_{}.txt",
                            enc.label(),
                            shape.label().replace('/', "-"),
                            name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
                        ));
                        std::fs::write(&f, body).map_err(|e| format!("{}: {e}", f.display()))?;
                    }
                }
            }
        }
        Ok(())
    }
}
