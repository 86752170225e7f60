package io.mthp4j.runtime;

import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.core.controller.PolicyController;
import io.mthp4j.core.kernel.KernelBackend;
import io.mthp4j.core.kernel.ThpProcess;
import io.mthp4j.core.policy.CgroupPolicy;
import io.mthp4j.linux.LinuxKernel;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Self-registration: a JVM service brings its own THP policy.
 *
 * <pre>{@code
 * try (Registration r = Mthp.register(PressurePolicy.mthpExt(PageGeometry.X86_64_4K).build())) {
 *     ... // the service runs; under memory pressure it falls back to base pages, and back when it clears
 * }
 * }</pre>
 *
 * On a kernel with a BPF-THP hook and the mthp4j program loaded (its pinned policy map exists) the registration
 * publishes this process's cgroup decisions ({@link Enforcement#PUBLISH}); on a stock kernel it enforces the
 * policy from inside the process with prctl and madvise ({@link Enforcement#IN_PROCESS}). Per-process opt-out
 * without a policy: {@link #disable()}, {@link #disableExceptAdvised()}, {@link #restore()}; children inherit the
 * mode ({@link Launch} starts one with a chosen mode).
 */
public final class Mthp {

    private static final Logger LOG = LoggerFactory.getLogger(Mthp.class);
    private static final Map<Object, ProcessThpMode> OPT_OUT_ORIGINAL = new HashMap<>();

    private Mthp() {
    }

    /** Registers {@code policy} for this JVM on the kernel it runs on. */
    public static Registration register(CgroupPolicy policy) {
        return builder(policy).register();
    }

    /**
     * Registers a built-in policy named in text ({@link PolicySpec}), e.g. {@code "mthp-ext:threshold=100ms,min=16M"}.
     *
     * @throws IllegalArgumentException for a bad name or value, or for {@code disable}/{@code madvise}, which are
     *         prctl modes ({@link #disable()}, {@link #disableExceptAdvised()})
     */
    public static Registration register(String spec) {
        return builder(PolicySpec.parse(spec)).register();
    }

    /**
     * What an operator configured with {@code -Dmthp4j.policy=...} or {@code MTHP4J_POLICY}: a policy is registered
     * (and returned); {@code disable} or {@code madvise} set the prctl mode (nothing is returned); nothing is
     * configured: nothing happens.
     *
     * @throws IllegalArgumentException for a bad value, naming the property or variable
     */
    public static Optional<Registration> registerConfigured() {
        Optional<PolicySpec> spec = PolicySpec.configured();
        if (spec.isEmpty()) {
            return Optional.empty();
        }
        if (spec.get().isOptOut()) {
            optOut(spec.get().optOut().mode());
            return Optional.empty();
        }
        return Optional.of(builder(spec.get()).register());
    }

    /** A registration with options. */
    public static Builder builder(CgroupPolicy policy) {
        Objects.requireNonNull(policy, "policy");
        return new Builder(g -> policy);
    }

    /** A registration of a built-in policy, built for the backend's geometry. */
    public static Builder builder(PolicySpec spec) {
        Objects.requireNonNull(spec, "spec");
        if (spec.isOptOut()) {
            throw new IllegalArgumentException(spec.name() + " is a prctl mode, not a policy: use Mthp."
                    + (spec.name().equals("disable") ? "disable()" : "disableExceptAdvised()"));
        }
        return new Builder(spec::policy);
    }

    // ---- opt-out without a policy ----

    /** This JVM gets no THP at all ({@code PR_SET_THP_DISABLE, 1, 0}; systemd {@code MemoryTHP=disable}). */
    public static void disable() {
        optOut(ProcessThpMode.DISABLED);
    }

    /** This JVM gets THP only where MADV_HUGEPAGE was given ({@code MemoryTHP=madvise}; Linux 6.18+). */
    public static void disableExceptAdvised() {
        optOut(ProcessThpMode.DISABLED_EXCEPT_ADVISED);
    }

    /** Puts back the mode this JVM had before the first {@link #disable()} or {@link #disableExceptAdvised()}. */
    public static void restore() {
        LinuxKernel k = linux();
        restore(k.currentProcess(), keyOf(k, k.currentProcess()));
    }

    private static void optOut(ProcessThpMode mode) {
        LinuxKernel k = linux();
        optOut(k.currentProcess(), keyOf(k, k.currentProcess()), mode);
    }

    static void optOut(ThpProcess process, Object key, ProcessThpMode mode) {
        synchronized (OPT_OUT_ORIGINAL) {
            if (Registration.claimed(key)) {
                throw new IllegalStateException("a registration manages this process's prctl mode; close it before opting out");
            }
            ProcessThpMode before = process.thpMode();
            process.setThpMode(mode);
            OPT_OUT_ORIGINAL.putIfAbsent(key, before);
            LOG.info("{} -> {} (opt-out)", ModeChoice.describe(before), ModeChoice.describe(mode));
        }
    }

    static void restore(ThpProcess process, Object key) {
        synchronized (OPT_OUT_ORIGINAL) {
            ProcessThpMode original = OPT_OUT_ORIGINAL.remove(key);
            if (original != null) {
                process.setThpMode(original);
                LOG.info("{} restored", ModeChoice.describe(original));
            }
        }
    }

    private static LinuxKernel linux() {
        String why = LinuxKernel.unavailableReason();
        if (why != null) {
            throw new IllegalStateException("mthp4j needs Linux here: " + why);
        }
        return LinuxKernel.open();
    }

    /** One process, one key: on Linux the pid (every LinuxKernel sees the same process), else the process object. */
    static Object keyOf(KernelBackend backend, ThpProcess process) {
        return backend instanceof LinuxKernel ? (Object) ("pid " + process.pid()) : process;
    }

    /** Options of a registration. */
    public static final class Builder {
        private final Function<PageGeometry, CgroupPolicy> policy;
        private KernelBackend backend;
        private Enforcement enforcement;
        private boolean background = true;
        private ShutdownHooks hooks = ShutdownHooks.JVM;
        private JvmFlags flags;

        private Builder(Function<PageGeometry, CgroupPolicy> policy) {
            this.policy = policy;
        }

        /** The kernel (default: {@link LinuxKernel#open()}); a {@code FakeKernel} in tests. */
        public Builder backend(KernelBackend value) {
            backend = Objects.requireNonNull(value, "backend");
            return this;
        }

        /** Force an enforcement (default: {@link Enforcement#PUBLISH} where a hook and the pinned map exist). */
        public Builder enforcement(Enforcement value) {
            enforcement = Objects.requireNonNull(value, "enforcement");
            return this;
        }

        /**
         * Whether a background thread watches pressure (default true). Without it nothing happens until
         * {@link Registration#checkNow()}: tests step through virtual time that way.
         */
        public Builder background(boolean value) {
            background = value;
            return this;
        }

        /** Whether a JVM shutdown hook closes the registration (default true). */
        public Builder shutdownHook(boolean value) {
            hooks = value ? ShutdownHooks.JVM : null;
            return this;
        }

        Builder hooks(ShutdownHooks value) {
            hooks = value;
            return this;
        }

        Builder jvmFlags(JvmFlags value) {
            flags = value;
            return this;
        }

        /**
         * Registers.
         *
         * @throws IllegalStateException if this process already has a registration, or the kernel cannot be used
         */
        public Registration register() {
            KernelBackend k = backend != null ? backend : linux();
            ThpProcess process = k.currentProcess();
            Object key = keyOf(k, process);
            Registration.claim(key);
            SelfEnforcer enforcer = null;
            PolicyController controller = null;
            try {
                CgroupPolicy p = policy.apply(k.geometry());
                Enforcement how = enforcement != null ? enforcement : detect(k);
                JvmReport report = JvmReport.assess(flags != null ? flags : JvmFlags.current(), k.thp().read(), process.thpMode(), how);
                LOG.info("registering {} ({}, own cgroup {})\n{}", p, how, process.cgroup(), report);
                if (how == Enforcement.IN_PROCESS) {
                    enforcer = new SelfEnforcer(k, p);
                    if (background) {
                        enforcer.start();
                    }
                } else {
                    controller = PolicyController.builder(k, p).root(process.cgroup()).build();
                    if (background) {
                        controller.start();
                    }
                }
                Registration r = new Registration(key, how, process, enforcer, controller, process.cgroup(), report, hooks);
                return backend == null && k instanceof LinuxKernel opened ? r.owning(opened) : r;
            } catch (RuntimeException | Error e) {
                if (enforcer != null) {
                    enforcer.close();
                }
                if (controller != null) {
                    controller.close();
                }
                Registration.unclaim(key);
                throw e;
            }
        }

        /** PUBLISH when this Linux kernel has a BPF-THP hook and the mthp4j policy map is pinned; else IN_PROCESS. */
        private static Enforcement detect(KernelBackend k) {
            if (!(k instanceof LinuxKernel linux)) {
                return Enforcement.IN_PROCESS;
            }
            if (!Files.exists(linux.policyPin())) {
                LOG.info("no mthp4j policy map at {}: enforcing in-process (prctl and madvise)", linux.policyPin());
                return Enforcement.IN_PROCESS;
            }
            // Only the hook check: the full probe would create a BPF map and flip this service's prctl mode.
            java.util.Set<io.mthp4j.linux.Capabilities.HookShape> hooks = java.util.EnumSet.noneOf(
                    io.mthp4j.linux.Capabilities.HookShape.class);
            String evidence = io.mthp4j.linux.Capabilities.hookShapes(hooks);
            if (hooks.isEmpty()) {
                LOG.info("the policy map is pinned but {}: enforcing in-process", evidence);
                return Enforcement.IN_PROCESS;
            }
            return Enforcement.PUBLISH;
        }
    }
}
