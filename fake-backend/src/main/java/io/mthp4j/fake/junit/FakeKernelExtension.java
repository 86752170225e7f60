package io.mthp4j.fake.junit;

import io.mthp4j.fake.FakeKernel;
import io.mthp4j.fake.FakeKernelConfig;
import io.mthp4j.fake.FakeProcess;
import java.lang.reflect.AnnotatedElement;
import java.util.Optional;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * The JUnit 5 extension behind {@link WithFakeKernel}: one fresh kernel per test, configured by the nearest
 * annotation (method, then class, then enclosing classes), injected as a parameter; after the test the
 * kernel's invariants are checked unless turned off.
 */
public final class FakeKernelExtension implements ParameterResolver, AfterEachCallback {

    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(FakeKernelExtension.class);

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        Class<?> type = parameter.getParameter().getType();
        return type == FakeKernel.class || type == FakeProcess.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        FakeKernel kernel = kernel(context);
        if (parameter.getParameter().getType() == FakeProcess.class) {
            return kernel.spawn(kernel.cgroups().root());
        }
        return kernel;
    }

    @Override
    public void afterEach(ExtensionContext context) {
        FakeKernel kernel = context.getStore(NS).get(FakeKernel.class, FakeKernel.class);
        if (kernel != null && settings(context).map(WithFakeKernel::checkInvariants).orElse(true)
                && context.getExecutionException().isEmpty()) {
            kernel.checkInvariants();
        }
    }

    private FakeKernel kernel(ExtensionContext context) {
        if (context.getTestMethod().isEmpty()) {
            throw new ParameterResolutionException("a FakeKernel is given to test methods, not to constructors or "
                    + "lifecycle methods of the class; take it as a parameter of the @Test method");
        }
        return context.getStore(NS).getOrComputeIfAbsent(FakeKernel.class, k -> create(context), FakeKernel.class);
    }

    private static FakeKernel create(ExtensionContext context) {
        WithFakeKernel s = settings(context).orElse(null);
        FakeKernelConfig base = s == null ? FakeKernelConfig.x86_64() : switch (s.preset()) {
            case X86_64 -> FakeKernelConfig.x86_64();
            case ARM64_4K -> FakeKernelConfig.arm64_4k();
            case ARM64_64K -> FakeKernelConfig.arm64_64k();
        };
        if (s == null) {
            return FakeKernel.create(base);
        }
        return FakeKernel.create(base.toBuilder()
                .totalMemoryBytes(s.memoryGiB() << 30)
                .swapBytes(s.swapMiB() << 20)
                .capSysResource(s.capSysResource())
                .seed(s.seed())
                .build());
    }

    private static Optional<WithFakeKernel> settings(ExtensionContext context) {
        for (Optional<ExtensionContext> c = Optional.of(context); c.isPresent(); c = c.get().getParent()) {
            Optional<AnnotatedElement> element = c.get().getElement();
            if (element.isPresent() && element.get().isAnnotationPresent(WithFakeKernel.class)) {
                return Optional.of(element.get().getAnnotation(WithFakeKernel.class));
            }
        }
        return Optional.empty();
    }
}
