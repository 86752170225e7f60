package io.mthp4j.fake.junit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Gives every test a fresh {@link io.mthp4j.fake.FakeKernel}: declare a parameter of that type (or
 * {@link io.mthp4j.fake.FakeProcess} for a fresh process in the root cgroup of that kernel).
 *
 * <pre>{@code
 * @WithFakeKernel(preset = Preset.X86_64, swapMiB = 1024)
 * class MyPolicyTest {
 *     @Test
 *     void smallCgroupsGetBasePages(FakeKernel kernel) { ... }
 * }
 * }</pre>
 *
 * On a method it overrides the class's settings.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith(FakeKernelExtension.class)
public @interface WithFakeKernel {

    /** The machine to emulate. */
    Preset preset() default Preset.X86_64;

    /** Physical memory in GiB (default: our machines' 24 GiB). */
    long memoryGiB() default 24;

    /** Swap space in MiB for the pressure model (default none). */
    long swapMiB() default 0;

    /** Whether the test acts with CAP_SYS_RESOURCE (PSI windows need not be multiples of 2 s). */
    boolean capSysResource() default false;

    /** The seed of every random choice. */
    long seed() default 1;

    /** Check the kernel's internal invariants after the test (a failed check fails the test). */
    boolean checkInvariants() default true;

    /** The presets of {@link io.mthp4j.fake.FakeKernelConfig}. */
    enum Preset {
        X86_64, ARM64_4K, ARM64_64K
    }
}
