package io.mthp4j.core.gate;

import static io.mthp4j.core.gate.OrderGateGens.cases;
import static io.mthp4j.core.gate.OrderGateGens.hex;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;

import io.mthp4j.api.AnonSizeEnabled;
import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.MthpPolicy;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.ShmemEnabled;
import io.mthp4j.api.ThpEnabled;
import io.mthp4j.api.ThpSettings;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaFlag;
import io.mthp4j.api.VmaInfo;
import io.mthp4j.api.VmaKind;
import io.mthp4j.api.VmaType;
import io.mthp4j.core.gate.OrderGateGens.Case;
import io.mthp4j.core.gate.OrderGateGens.PolicyKind;
import io.mthp4j.core.gate.OrderGateGens.PolicySpec;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongUnaryOperator;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.quicktheories.generators.Generate;

/**
 * Property tests of the order gate (kernel-semantics.md §2–§4, §8, §14, §15.2): whatever the policy does, the
 * gate only narrows what the kernel's rules allow. Each property runs {@code mthp4j.property.examples}
 * generated calls (the build sets 10,000).
 *
 * <p>Where a rule reads "the result is a subset of what the policy answered", there is one exception the kernel
 * itself makes: for shmem and tmpfs VMAs outside faults, step 7 of §4.3 returns
 * {@code shmem_allowable_huge_orders(...)}, which is not masked by the request (only the gate's "never above
 * the highest requested order" ceiling applies). Those properties compare below the policy's highest order
 * instead.
 */
class OrderGatePropertiesTest {

    static final int EXAMPLES = Integer.getInteger("mthp4j.property.examples", 10_000);

    // ---- recording policies and hooks (single-threaded; reset before each call) ----

    /** A policy with a behaviour set per example, that records what it was asked. */
    static final class RecordingPolicy implements MthpPolicy {
        PolicySpec spec = new PolicySpec(PolicyKind.IDENTITY, 0);
        int calls;
        long asked;
        long answered;
        boolean threw;

        RecordingPolicy reset(PolicySpec value) {
            spec = value;
            calls = 0;
            asked = 0;
            answered = 0;
            threw = false;
            return this;
        }

        @Override
        public long chooseOrders(VmaInfo vma, TvaType tvaType, long orders) {
            calls++;
            asked = orders;
            try {
                answered = spec.apply(orders);
            } catch (RuntimeException e) {
                threw = true;
                throw e;
            }
            return answered;
        }

        /** Whether the last answer had bits outside what was asked. */
        boolean answeredGarbage() {
            return calls > 0 && !threw && (answered & ~asked) != 0;
        }

        @Override
        public String toString() {
            return "recording " + spec;
        }
    }

    /** A {@code thp_get_order} hook answering a fixed order, recording what it was asked. */
    static final class RecordingHook implements ThpGetOrder {
        int answer;
        int calls;
        long asked;
        VmaType vmaType;

        RecordingHook reset(int value) {
            answer = value;
            calls = 0;
            asked = 0;
            vmaType = null;
            return this;
        }

        @Override
        public int thpGetOrder(VmaInfo vma, VmaType type, TvaType tvaType, long orders) {
            calls++;
            asked = orders;
            vmaType = type;
            return answer;
        }
    }

    /** An {@code mthp_choose} hook with a behaviour per example, recording the cgroups it is given. */
    static final class RecordingChoose implements MthpChoose {
        PolicySpec spec = new PolicySpec(PolicyKind.IDENTITY, 0);
        int calls;
        long asked;
        CgroupRef cgroup;

        RecordingChoose reset(PolicySpec value) {
            spec = value;
            calls = 0;
            asked = 0;
            cgroup = null;
            return this;
        }

        @Override
        public long mthpChoose(CgroupRef cg, long orders) {
            calls++;
            asked = orders;
            cgroup = cg;
            return spec.apply(orders);
        }
    }

    /**
     * Gates by configuration, each built once and reused across examples, so a failing policy logs at most
     * once per gate per 10 s instead of once per example. Failure counters are compared as deltas.
     */
    static final class Gates {
        private final MthpPolicy policy;
        private final Map<List<Object>, OrderGate> gates = new HashMap<>();

        Gates(MthpPolicy policy) {
            this.policy = policy;
        }

        OrderGate of(Case c) {
            return of(c, c.placement());
        }

        OrderGate of(Case c, HookPlacement placement) {
            return gates.computeIfAbsent(List.of(c.geometry(), placement, c.hardwareDisabled(), c.readOnlyThpForFs()),
                    k -> OrderGate.builder(c.geometry()).policy(policy).placement(placement)
                            .hardwareDisabled(c.hardwareDisabled()).readOnlyThpForFs(c.readOnlyThpForFs()).build());
        }
    }

    /**
     * One recording policy and one gate cache shared by the generic-policy properties (tests run on one thread),
     * so each gate configuration logs its first failure once for the whole class.
     */
    static final RecordingPolicy POLICY = new RecordingPolicy();
    static final Gates POLICY_GATES = new Gates(POLICY);
    static final Gates PLAIN_GATES = new Gates(null);

    // ---- helpers ----

    static long allowable(OrderGate gate, Case c, long orders) {
        return gate.allowableOrders(c.settings(), c.mm(), c.vma(), c.type(), orders);
    }

    static long kernel(OrderGate gate, Case c, long orders) {
        return gate.kernelAllowableOrders(c.settings(), c.mm(), c.vma(), c.type(), orders);
    }

    static void assertSubset(long mask, long of, String what, Case c) {
        assertTrue(Orders.isSubset(mask, of), () -> what + ": 0x" + hex(mask) + " is not a subset of 0x" + hex(of)
                + " (extra 0x" + hex(mask & ~of) + ") for " + c);
    }

    static void assertMask(long expected, long actual, String what, Case c) {
        assertEquals(expected, actual, () -> what + ": expected 0x" + hex(expected) + " but was 0x" + hex(actual)
                + " for " + c);
    }

    /** Step 7 of §4.3 decides: a shmem-file VMA outside faults gets shmem's own orders, unmasked by the request. */
    static boolean shmemStep7(Case c) {
        return c.vma().kind().isShmemFile() && !c.type().isFault();
    }

    /** Whether the hook at {@code placement} is reached for this call (the request survives the anon mask). */
    static boolean hookReached(Case c, HookPlacement placement) {
        if (c.request() == 0) {
            return false;
        }
        if (placement == HookPlacement.BEFORE_SYSFS_MASK || c.type() == TvaType.FORCED_COLLAPSE
                || c.vma().kind() != VmaKind.ANON) {
            return true;
        }
        return (c.request() & KernelModel.anonMask(c.settings(), c.vma().flags())) != 0;
    }

    // =====================================================================================================
    // 0. The kernel rules themselves agree with an independent transcription of §3.4, §4.2–§4.4 and §8.
    // =====================================================================================================

    @Test
    @DisplayName("P0: kernelAllowableOrders equals the §4.3/§4.4 model (capped at the highest requested order)")
    void kernelRulesMatchTheReferenceModel() {
        Gates plain = PLAIN_GATES;
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            OrderGate gate = plain.of(c);
            KernelModel model = new KernelModel(c);
            long expected = model.allowable(c.settings(), c.mm(), c.vma(), c.type(), c.request(), null, c.placement());
            long ceiling = Orders.upTo(Orders.highest(c.request()));
            long k = kernel(gate, c, c.request());
            assertMask(expected & ceiling, k, "kernelAllowableOrders vs model", c);
            assertMask(k, allowable(gate, c, c.request()), "gate without policy vs kernelAllowableOrders", c);
            if (!shmemStep7(c)) {
                assertSubset(expected, c.request(), "model result outside the request", c);
            }
        });
    }

    @Test
    @DisplayName("P0b: with any policy, the gate equals the model of §14.3/§15.2 placement and the failure rules")
    void gateWithPolicyMatchesTheReferenceModel() {
        RecordingPolicy policy = POLICY;
        Gates gates = POLICY_GATES;
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            OrderGate gate = gates.of(c);
            PolicySpec spec = c.policy();
            policy.reset(spec);
            LongUnaryOperator hook = in -> {
                long out;
                try {
                    out = spec.apply(in);
                } catch (RuntimeException e) {
                    return in; // a throwing policy has no opinion
                }
                return (out & ~in) != 0 ? in : out; // garbage has no opinion
            };
            long expected = new KernelModel(c).allowable(c.settings(), c.mm(), c.vma(), c.type(), c.request(), hook,
                    c.placement()) & Orders.upTo(Orders.highest(c.request()));
            assertMask(expected, allowable(gate, c, c.request()), "gate vs model", c);
        });
    }

    @Test
    @DisplayName("P0c: shmemAllowableHugeOrders equals the §8 model (write_end 0, as step 7 calls it)")
    void shmemRulesMatchTheReferenceModel() {
        Gates plain = PLAIN_GATES;
        qt().withExamples(EXAMPLES).forAll(cases(), Generate.longRange(0, 1L << 24), Generate.booleans())
                .checkAssert((c, rawIndex, force) -> {
                    OrderGate gate = plain.of(c);
                    long index = rawIndex % 3 == 0 ? c.vma().pgoff() : rawIndex;
                    long expected = new KernelModel(c).shmemAllowable(c.settings(), c.mm(), c.vma(), index, 0, force);
                    long actual = gate.shmemAllowableHugeOrders(c.settings(), c.mm(), c.vma(), index, 0, force);
                    assertMask(expected, actual, "shmemAllowableHugeOrders(index " + index + ", write_end 0, force "
                            + force + ")", c);
                });
    }

    @Test
    @DisplayName("P0d: shmemAllowableHugeOrders equals the §8 model for any write_end")
    void shmemRulesMatchTheReferenceModelWithWriteEnd() {
        Gates plain = PLAIN_GATES;
        qt().withExamples(EXAMPLES).forAll(cases(), Generate.longRange(0, 1L << 24), Generate.longRange(0, 1L << 36),
                Generate.booleans()).checkAssert((c, rawIndex, writeEnd, force) -> {
                    OrderGate gate = plain.of(c);
                    long index = rawIndex % 3 == 0 ? c.vma().pgoff() : rawIndex;
                    long expected = new KernelModel(c).shmemAllowable(c.settings(), c.mm(), c.vma(), index, writeEnd,
                            force);
                    long actual = gate.shmemAllowableHugeOrders(c.settings(), c.mm(), c.vma(), index, writeEnd, force);
                    assertMask(expected, actual, "shmemAllowableHugeOrders(index " + index + ", write_end " + writeEnd
                            + ", force " + force + ")", c);
                });
    }

    // =====================================================================================================
    // 1–5. Generic policies
    // =====================================================================================================

    @Test
    @DisplayName("P1: result ⊆ kernelAllowableOrders of the same call, for any policy output and placement")
    void resultIsSubsetOfKernelRules() {
        RecordingPolicy policy = POLICY;
        Gates gates = POLICY_GATES;
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            for (HookPlacement placement : HookPlacement.values()) {
                OrderGate gate = gates.of(c, placement);
                policy.reset(c.policy());
                long result = allowable(gate, c, c.request());
                assertSubset(result, kernel(gate, c, c.request()), "result vs kernel rules at " + placement, c);
            }
        });
    }

    @Test
    @DisplayName("P2: the result never contains an order above the highest requested one")
    void resultNeverAboveHighestRequested() {
        RecordingPolicy policy = POLICY;
        Gates gates = POLICY_GATES;
        Gates plain = PLAIN_GATES;
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            long ceiling = Orders.upTo(Orders.highest(c.request()));
            policy.reset(c.policy());
            assertSubset(allowable(gates.of(c), c, c.request()), ceiling, "with policy " + c.policy(), c);
            assertSubset(allowable(plain.of(c), c, c.request()), ceiling, "without policy", c);
        });
    }

    @Test
    @DisplayName("P3: identity, throwing and garbage policies equal no policy; only failures are counted")
    void noOpinionPoliciesEqualNoPolicyAndFailuresAreCounted() {
        RecordingPolicy policy = POLICY;
        Gates gates = POLICY_GATES;
        Gates plain = PLAIN_GATES;
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            OrderGate gate = gates.of(c);
            long noPolicy = allowable(plain.of(c), c, c.request());
            assertMask(kernel(gate, c, c.request()), noPolicy, "no policy vs kernel rules", c);
            PolicySpec[] specs = {
                    new PolicySpec(PolicyKind.IDENTITY, 0),
                    new PolicySpec(PolicyKind.THROWS, 0),
                    new PolicySpec(PolicyKind.STRICT_SUPERSET, c.policy().param()),
                    c.policy(),
            };
            for (PolicySpec spec : specs) {
                PolicyFailures failures = gate.policyFailures();
                long exceptions = failures.exceptions();
                long invalid = failures.invalidResults();
                policy.reset(spec);
                long result = allowable(gate, c, c.request());
                boolean reached = hookReached(c, gate.placement());
                assertEquals(reached ? 1 : 0, policy.calls, () -> "hook calls with " + spec + " for " + c);
                long threw = policy.threw ? 1 : 0;
                long garbage = policy.answeredGarbage() ? 1 : 0;
                assertEquals(threw, failures.exceptions() - exceptions, () -> "exceptions counted, " + spec + ", " + c);
                assertEquals(garbage, failures.invalidResults() - invalid, () -> "invalid results counted, " + spec
                        + ", " + c);
                boolean noOpinion = spec.kind() == PolicyKind.IDENTITY || threw == 1 || garbage == 1;
                if (noOpinion) {
                    assertMask(noPolicy, result, "policy " + spec + " (no opinion) vs no policy", c);
                }
                if (spec.kind() == PolicyKind.THROWS && reached) {
                    assertEquals(1, threw, () -> "the throwing policy did not throw: " + c);
                }
                if (spec.kind() == PolicyKind.STRICT_SUPERSET && reached && policy.asked != -1L) {
                    assertEquals(1, garbage, () -> "the garbage policy answered a subset: " + c);
                }
            }
        });
    }

    @Test
    @DisplayName("P4: a policy returning 0 gives 0 (before the mask always; after it whenever the hook is reached)")
    void zeroPolicyGivesZero() {
        RecordingPolicy policy = POLICY;
        Gates gates = POLICY_GATES;
        PolicySpec zero = new PolicySpec(PolicyKind.ZERO, 0);
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            for (HookPlacement placement : HookPlacement.values()) {
                OrderGate gate = gates.of(c, placement);
                policy.reset(zero);
                long result = allowable(gate, c, c.request());
                boolean reached = hookReached(c, placement);
                assertEquals(reached ? 1 : 0, policy.calls, () -> "hook calls at " + placement + " for " + c);
                if (placement == HookPlacement.BEFORE_SYSFS_MASK || reached) {
                    assertMask(0, result, "zero policy at " + placement, c);
                }
            }
        });
    }

    @Test
    @DisplayName("P5: a policy keeping a fixed set S narrows like asking for request ∩ S")
    void fixedSubsetPolicyIsMonotone() {
        RecordingPolicy policy = POLICY;
        Gates gates = POLICY_GATES;
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            long s = c.subset();
            PolicySpec keep = new PolicySpec(PolicyKind.SUBSET, s);
            for (HookPlacement placement : HookPlacement.values()) {
                OrderGate gate = gates.of(c, placement);
                policy.reset(keep);
                long result = allowable(gate, c, c.request());
                long kernelRequest = kernel(gate, c, c.request());
                long kernelNarrowed = kernel(gate, c, c.request() & s);
                assertSubset(result, kernelRequest, "result vs kernel(request) at " + placement, c);
                if (c.vma().kind() == VmaKind.ANON && c.type() == TvaType.PAGEFAULT
                        && placement == HookPlacement.BEFORE_SYSFS_MASK && Orders.isSubset(s, c.request())) {
                    assertMask(kernelNarrowed, result, "ANON PAGEFAULT before the mask: kernel(request & S)", c);
                }
                // Stronger, any VMA, type and placement: equal below S's highest order; equal outright unless
                // step 7 (shmem outside faults) returns shmem's own orders.
                long below = Orders.upTo(Orders.highest(c.request() & s));
                assertMask(kernelNarrowed, result & below, "result below highest(request & S) at " + placement, c);
                if (!shmemStep7(c)) {
                    assertMask(kernelNarrowed, result, "kernel(request & S) at " + placement, c);
                }
            }
        });
    }

    // =====================================================================================================
    // 6–8. The hook adapters
    // =====================================================================================================

    @Test
    @DisplayName("P6: Hooks.thpGetOrder (lenient): -1 or too high is no opinion; otherwise ⊆ kernel and ⊆ BIT(answer)")
    void lenientThpGetOrder() {
        RecordingHook hook = new RecordingHook();
        Gates gates = new Gates(Hooks.thpGetOrder(hook));
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            OrderGate gate = gates.of(c);
            int a = c.hookAnswer();
            hook.reset(a);
            long result = allowable(gate, c, c.request());
            long kernelRequest = kernel(gate, c, c.request());
            assertEquals(hookReached(c, c.placement()) ? 1 : 0, hook.calls, () -> "hook calls for " + c);
            assertEquals(0, gate.policyFailures().total(), () -> "lenient adapter answers are always valid: " + c);
            if (hook.calls == 0 || a < 0 || a > Orders.highest(hook.asked)) {
                assertMask(kernelRequest, result, "answer " + a + " to 0x" + hex(hook.asked) + " is no opinion", c);
                return;
            }
            long bit = 1L << a;
            assertSubset(result, kernelRequest, "answer " + a + ": result vs kernel(request)", c);
            assertMask(kernel(gate, c, c.request() & bit), result & Orders.upTo(a),
                    "answer " + a + ": result up to the answer vs kernel(request & BIT(answer))", c);
            if (!shmemStep7(c)) {
                assertSubset(result, bit, "answer " + a + ": result vs BIT(answer)", c);
            }
        });
    }

    @Test
    @DisplayName("P7: Hooks.thpGetOrderStrict: never above the highest requested order; -1 or too high is no opinion")
    void strictThpGetOrder() {
        RecordingHook hook = new RecordingHook();
        Gates gates = new Gates(Hooks.thpGetOrderStrict(hook));
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            OrderGate gate = gates.of(c);
            int a = c.hookAnswer();
            hook.reset(a);
            long result = allowable(gate, c, c.request());
            long kernelRequest = kernel(gate, c, c.request());
            assertSubset(result, Orders.upTo(Orders.highest(c.request())), "strict: never above highest requested", c);
            assertEquals(0, gate.policyFailures().total(), () -> "strict adapter answers are accepted: " + c);
            assertEquals(hookReached(c, c.placement()) ? 1 : 0, hook.calls, () -> "hook calls for " + c);
            if (hook.calls == 0 || a < 0 || a > Orders.highest(hook.asked)) {
                assertMask(kernelRequest, result, "answer " + a + " to 0x" + hex(hook.asked) + " is no opinion", c);
                return;
            }
            if (c.placement() == HookPlacement.BEFORE_SYSFS_MASK) {
                // v7 exactly (§14.3): BIT(answer) replaces the request, then the sysfs mask and the core apply.
                long bit = 1L << a;
                assertMask(kernel(gate, c, bit), result & Orders.upTo(a), "v7: BIT(answer) through the rules", c);
                if (!shmemStep7(c)) {
                    assertSubset(result, bit, "v7: result vs BIT(answer)", c);
                }
                if (c.vma().kind() == VmaKind.ANON && c.type() != TvaType.FORCED_COLLAPSE) {
                    assertSubset(result, KernelModel.anonMask(c.settings(), c.vma().flags()),
                            "v7: the anon sysfs mask still applies (§3.4, §14.3)", c);
                }
            }
        });
    }

    @Test
    @DisplayName("P7b: Hooks.thpGetOrderStrict after the sysfs mask still respects the anon sysfs mask")
    void strictThpGetOrderAfterTheMaskRespectsSysfs() {
        RecordingHook hook = new RecordingHook();
        Gates gates = new Gates(Hooks.thpGetOrderStrict(hook));
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            OrderGate gate = gates.of(c, HookPlacement.AFTER_SYSFS_MASK);
            hook.reset(c.hookAnswer());
            long result = allowable(gate, c, c.request());
            if (c.vma().kind() == VmaKind.ANON && c.type() != TvaType.FORCED_COLLAPSE) {
                assertSubset(result, KernelModel.anonMask(c.settings(), c.vma().flags()),
                        "strict adapter at AFTER_SYSFS_MASK (the case's placement is ignored): the anon sysfs mask (§3.4)", c);
            }
        });
    }

    @Test
    @DisplayName("P8: Hooks.mthpChoose: a VMA without a cgroup never reaches the hook; others pass their CgroupRef")
    void mthpChooseAdapter() {
        RecordingChoose hook = new RecordingChoose();
        Gates gates = new Gates(Hooks.mthpChoose(hook));
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            OrderGate gate = gates.of(c);
            hook.reset(c.policy());
            long result = allowable(gate, c, c.request());
            long kernelRequest = kernel(gate, c, c.request());
            CgroupRef cgroup = c.vma().cgroup();
            if (cgroup.id() == 0) {
                assertEquals(0, hook.calls, () -> "the hook was called for a VMA without a cgroup: " + c);
                assertMask(kernelRequest, result, "no cgroup keeps the orders", c);
                return;
            }
            assertEquals(hookReached(c, c.placement()) ? 1 : 0, hook.calls, () -> "hook calls for " + c);
            if (hook.calls == 1) {
                assertSame(cgroup, hook.cgroup, () -> "the hook got another cgroup: " + c);
                if (c.placement() == HookPlacement.BEFORE_SYSFS_MASK) {
                    assertEquals(c.request(), hook.asked, () -> "the hook was asked another mask: " + c);
                }
            }
            assertSubset(result, kernelRequest, "mthp_choose result vs kernel(request)", c);
        });
    }

    // =====================================================================================================
    // Deterministic examples
    // =====================================================================================================

    static final PageGeometry X86 = PageGeometry.X86_64_4K;
    static final long PMD_SIZE = X86.pmdSize();

    @Test
    @DisplayName("§14.4 v7 quirk: a PMD query answered with 4 yields BIT(4), so allowableOrder(PMD) is true")
    void v7StrictQuirkPmdQueryAnsweredWithFour() {
        ThpSettings settings = ThpSettings.defaults(X86).withEnabled(ThpEnabled.MADVISE)
                .withAnonSizeEnabled(9, AnonSizeEnabled.NEVER).withAnonSizeEnabled(4, AnonSizeEnabled.ALWAYS);
        VmaInfo vma = VmaInfo.anon(16 * PMD_SIZE, 20 * PMD_SIZE).withFlags(VmaFlag.ANON_VMA);
        ThpGetOrder answerFour = (v, type, tva, orders) -> 4;
        OrderGate strict = OrderGate.builder(X86).policy(Hooks.thpGetOrderStrict(answerFour)).build();
        OrderGate lenient = OrderGate.builder(X86).policy(Hooks.thpGetOrder(answerFour)).build();
        for (TvaType type : List.of(TvaType.PAGEFAULT, TvaType.SMAPS, TvaType.KHUGEPAGED)) {
            assertEquals(0, strict.kernelAllowableOrders(settings, ProcessThpMode.NONE, vma, type, 1L << 9),
                    "sysfs alone forbids the PMD order (" + type + ")");
            assertEquals(1L << 4, strict.allowableOrders(settings, ProcessThpMode.NONE, vma, type, 1L << 9),
                    "v7 returns BIT(4) for a BIT(9) query (" + type + ")");
            assertTrue(strict.allowableOrder(settings, ProcessThpMode.NONE, vma, type, 9),
                    "thp_vma_allowable_order tests non-zero, so PMD looks allowed (" + type + ")");
            assertFalse(lenient.allowableOrder(settings, ProcessThpMode.NONE, vma, type, 9),
                    "the lenient adapter intersects: BIT(9) & BIT(4) = 0 (" + type + ")");
        }
        // And answering 0 yields BIT(0), which every supported-orders mask removes: "0 means no THP" (§14.4).
        OrderGate zero = OrderGate.builder(X86).policy(Hooks.thpGetOrderStrict((v, t, tva, o) -> 0)).build();
        assertFalse(zero.allowableOrder(settings.withAnonSizeEnabled(9, AnonSizeEnabled.ALWAYS), ProcessThpMode.NONE,
                vma, TvaType.PAGEFAULT, 9));
        assertEquals(0, strict.policyFailures().total());
    }

    @Test
    @DisplayName("regression: v7 strict after the sysfs mask stays inside the anon sysfs mask (a size whose enabled is never)")
    void strictAdapterAfterTheMaskBypassesSysfs() {
        // x86-64; top-level madvise; hugepages-2048kB/enabled = always, every other size never.
        ThpSettings settings = ThpSettings.defaults(X86).withEnabled(ThpEnabled.MADVISE)
                .withAnonSizeEnabled(9, AnonSizeEnabled.ALWAYS);
        VmaInfo vma = VmaInfo.anon(16 * PMD_SIZE, 20 * PMD_SIZE).withFlags(VmaFlag.ANON_VMA);
        OrderGate gate = OrderGate.builder(X86).placement(HookPlacement.AFTER_SYSFS_MASK)
                .policy(Hooks.thpGetOrderStrict((v, t, tva, o) -> 4)).build();
        long request = (1L << 9) | (1L << 4);
        assertEquals(1L << 9, gate.kernelAllowableOrders(settings, ProcessThpMode.NONE, vma, TvaType.PAGEFAULT, request));
        // Expected: a subset of the sysfs mask 0x200; actual 0x10 (order 4, whose enabled is never).
        long result = gate.allowableOrders(settings, ProcessThpMode.NONE, vma, TvaType.PAGEFAULT, request);
        assertTrue(Orders.isSubset(result, 1L << 9), "result 0x" + hex(result) + " contains an order sysfs forbids");
    }

    @Test
    @DisplayName("regression: per-size within_size does not read write_end")
    void perSizeWithinSizeIgnoresWriteEnd() {
        // Anonymous shmem of 1 PMD, i_size 0; hugepages-64kB/shmem_enabled = within_size; top-level never.
        ThpSettings settings = ThpSettings.defaults(X86).withShmemEnabled(ShmemEnabled.NEVER)
                .withShmemSizeEnabled(4, io.mthp4j.api.ShmemSizeEnabled.WITHIN_SIZE);
        VmaInfo vma = VmaInfo.sharedAnon(16 * PMD_SIZE, 17 * PMD_SIZE).withFileSize(0);
        OrderGate gate = OrderGate.builder(X86).build();
        // A write ending at 64 KiB: the per-size within_size orders are decided by i_size (0), so none.
        long result = gate.shmemAllowableHugeOrders(settings, ProcessThpMode.NONE, vma, 0, 64 * 1024, false);
        assertEquals(0, result, "result 0x" + hex(result));
    }

    @Test
    @DisplayName("§2 thp_vma_suitable_orders stops at the first suitable order; lower ones stay untested")
    void suitableOrdersStopsAtFirstSuitable() {
        OrderGate gate = OrderGate.builder(X86).build();
        long all = X86.allAnonOrders(); // orders 2..9
        // A 64 KiB anonymous VMA at a PMD boundary: orders 9..5 do not fit, 4 fits, so 4..2 stay.
        VmaInfo small = VmaInfo.anon(2 * PMD_SIZE, 2 * PMD_SIZE + 64 * 1024);
        assertEquals(0b1_1100L, gate.suitableOrders(small, small.start(), all));
        // Gaps in the mask: 9 and 6 are dropped, 3 is the first that fits, 3 and 2 stay.
        VmaInfo v128k = VmaInfo.anon(2 * PMD_SIZE, 2 * PMD_SIZE + 128 * 1024);
        long gaps = (1L << 9) | (1L << 6) | (1L << 3) | (1L << 2);
        assertEquals((1L << 3) | (1L << 2), gate.suitableOrders(v128k, v128k.start(), gaps));
        // Order 1 and 0 below the first suitable order stay as they are: nothing below is tested.
        assertEquals(0b1_1111L, gate.suitableOrders(small, small.start(), all | 0b11));
        // A file VMA whose pgoff is misaligned by one page: every order >= 1 fails the pgoff test, order 0 stays.
        VmaInfo file = new VmaInfo(4 * PMD_SIZE, 8 * PMD_SIZE, 1, VmaKind.FILE, 0, 8 * PMD_SIZE, 0, CgroupRef.NONE);
        assertEquals(1L, gate.suitableOrders(file, file.start(), all | 0b11));
        assertEquals(0L, gate.suitableOrders(file, file.start(), all));
        // The fit is tested around the address: at the last page of a 4-PMD VMA, the PMD block still fits.
        VmaInfo big = VmaInfo.anon(16 * PMD_SIZE, 20 * PMD_SIZE);
        assertEquals(all, gate.suitableOrders(big, big.end() - 4096, all));
        // One page past a 2 MiB-aligned start that is not PMD-aligned in the VMA: PMD dropped, 8 (1 MiB) kept.
        VmaInfo offset = VmaInfo.anon(16 * PMD_SIZE + 1024 * 1024, 18 * PMD_SIZE);
        assertEquals(all & ~(1L << 9), gate.suitableOrders(offset, offset.start(), all));
        assertEquals(0L, gate.suitableOrders(small, small.start(), 0));
    }

    @Test
    @DisplayName("§2 suitability uses the kernel's unsigned arithmetic: vm_end − size wraps below address 2 MiB")
    void suitabilityUsesUnsignedArithmetic() {
        OrderGate gate = OrderGate.builder(X86).build();
        // [64 KiB, 68 KiB): step 6 tests order 9 at vm_end − 2 MiB, which wraps; the aligned block then ends at
        // 2^64 ≡ 0 <= vm_end, so the kernel (and the gate) call it suitable.
        VmaInfo low = VmaInfo.anon(0x10000, 0x11000).withFlags(VmaFlag.ANON_VMA);
        assertTrue(gate.suitableOrder(low, low.end() - PMD_SIZE, 9));
        ThpSettings always = ThpSettings.defaults(X86).withEnabled(ThpEnabled.ALWAYS);
        assertEquals(1L << 9, gate.kernelAllowableOrders(always, ProcessThpMode.NONE, low, TvaType.KHUGEPAGED, 1L << 9));
        // The same VMA higher up is not suitable.
        VmaInfo high = VmaInfo.anon(16 * PMD_SIZE, 16 * PMD_SIZE + 0x1000).withFlags(VmaFlag.ANON_VMA);
        assertEquals(0, gate.kernelAllowableOrders(always, ProcessThpMode.NONE, high, TvaType.KHUGEPAGED, 1L << 9));
    }

    @Test
    @DisplayName("rate-limited failure logging never throws, and every failure is counted")
    void rateLimitedLoggingDoesNotThrow() {
        ThpSettings settings = ThpSettings.defaults(X86).withEnabled(ThpEnabled.ALWAYS);
        VmaInfo vma = VmaInfo.anon(16 * PMD_SIZE, 20 * PMD_SIZE).withFlags(VmaFlag.ANON_VMA);
        long request = (1L << 9) - 1;
        long expected = OrderGate.builder(X86).build()
                .allowableOrders(settings, ProcessThpMode.NONE, vma, TvaType.PAGEFAULT, (1L << 9) | request);

        OrderGate throwing = OrderGate.builder(X86).policy((v, t, o) -> {
            throw new IllegalStateException("boom");
        }).build();
        OrderGate garbage = OrderGate.builder(X86).policy((v, t, o) -> o | (1L << 40)).build();
        OrderGate errors = OrderGate.builder(X86).policy((v, t, o) -> {
            throw new AssertionError("not a VirtualMachineError, so no opinion");
        }).build();
        int calls = 5_000;
        for (int i = 0; i < calls; i++) {
            long orders = (1L << 9) | request;
            assertEquals(expected, throwing.allowableOrders(settings, ProcessThpMode.NONE, vma, TvaType.PAGEFAULT, orders));
            assertEquals(expected, garbage.allowableOrders(settings, ProcessThpMode.NONE, vma, TvaType.PAGEFAULT, orders));
            assertEquals(expected, errors.allowableOrders(settings, ProcessThpMode.NONE, vma, TvaType.PAGEFAULT, orders));
        }
        assertEquals(calls, throwing.policyFailures().exceptions());
        assertEquals(0, throwing.policyFailures().invalidResults());
        assertEquals(calls, garbage.policyFailures().invalidResults());
        assertEquals(0, garbage.policyFailures().exceptions());
        assertEquals(calls, errors.policyFailures().total());
        assertDoesNotThrow(() -> throwing.policyFailures().toString());

        // Concurrent failures: still no exception, still every one counted.
        OrderGate shared = OrderGate.builder(X86).policy((v, t, o) -> {
            throw new IllegalArgumentException("concurrent boom");
        }).build();
        Thread[] threads = new Thread[4];
        Throwable[] seen = new Throwable[threads.length];
        for (int t = 0; t < threads.length; t++) {
            int index = t;
            threads[t] = new Thread(() -> {
                try {
                    for (int i = 0; i < 2_000; i++) {
                        shared.allowableOrders(settings, ProcessThpMode.NONE, vma, TvaType.KHUGEPAGED, 1L << 9);
                    }
                } catch (Throwable e) {
                    seen[index] = e;
                }
            });
            threads[t].start();
        }
        for (Thread thread : threads) {
            assertDoesNotThrow(() -> thread.join());
        }
        for (Throwable e : seen) {
            assertEquals(null, e);
        }
        assertEquals(4 * 2_000, shared.policyFailures().exceptions());
    }

    @Test
    @DisplayName("a policy exception that cannot even be printed is still contained")
    void unprintableExceptionIsContained() {
        ThpSettings settings = ThpSettings.defaults(X86).withEnabled(ThpEnabled.ALWAYS);
        VmaInfo vma = VmaInfo.anon(16 * PMD_SIZE, 20 * PMD_SIZE).withFlags(VmaFlag.ANON_VMA);
        RuntimeException nasty = new RuntimeException() {
            @Override
            public String toString() {
                throw new IllegalStateException("toString of a policy's exception throws");
            }

            @Override
            public String getMessage() {
                throw new IllegalStateException("getMessage of a policy's exception throws");
            }
        };
        OrderGate gate = OrderGate.builder(X86).policy((v, t, o) -> {
            throw nasty;
        }).build();
        long expected = gate.kernelAllowableOrders(settings, ProcessThpMode.NONE, vma, TvaType.PAGEFAULT, 1L << 9);
        assertNotEquals(0, expected);
        assertEquals(expected, assertDoesNotThrow(
                () -> gate.allowableOrders(settings, ProcessThpMode.NONE, vma, TvaType.PAGEFAULT, 1L << 9)));
        assertEquals(1, gate.policyFailures().exceptions());
    }

    // =====================================================================================================
    // An independent model of the kernel rules, transcribed from kernel-semantics.md, table-driven (§4.4)
    // =====================================================================================================

    /** One column of the §4.4 table: what a tva_type does at each check. */
    record Column(boolean sysfsMask, boolean exceptAdvisedBlocks, boolean daxAllows, boolean noKhugepagedBlocks,
                  boolean suitability, boolean shmemRules, boolean shmemForce, boolean fileGlobalGate,
                  boolean hugeFaultAllows, boolean fileThpAllows, boolean noAnonVmaAllows) {

        static Column of(TvaType type) {
            return switch (type) {
                case SMAPS -> new Column(true, true, false, false, true, true, false, true, true, true, true);
                // TVA_SWAP(_PAGEFAULT) is treated like a page fault (§14.5).
                case PAGEFAULT, SWAP_PAGEFAULT ->
                        new Column(true, true, true, false, false, false, false, true, true, false, true);
                case KHUGEPAGED -> new Column(true, true, false, true, true, true, false, true, false, true, false);
                case FORCED_COLLAPSE ->
                        new Column(false, false, false, true, true, true, true, false, false, true, false);
            };
        }
    }

    /** §2, §3.4, §4.2–§4.4 and §8, written from the reference text (not from OrderGate). */
    static final class KernelModel {
        private final PageGeometry g;
        private final boolean hwDisabled;
        private final boolean readOnlyThpForFs;

        KernelModel(Case c) {
            this.g = c.geometry();
            this.hwDisabled = c.hardwareDisabled();
            this.readOnlyThpForFs = c.readOnlyThpForFs();
        }

        static long range(int from, int to) {
            long m = 0;
            for (int o = from; o <= to; o++) {
                m |= 1L << o;
            }
            return m;
        }

        long allAnon() {
            return range(2, g.pmdOrder());
        }

        long allFile() {
            return range(1, g.maxPagecacheOrder());
        }

        long allSpecial() {
            return (1L << g.pmdOrder()) | (1L << g.pudOrder());
        }

        /** §3.4. */
        static long anonMask(ThpSettings s, int flags) {
            boolean advised = (flags & VmaFlag.HUGEPAGE.mask()) != 0;
            boolean globalEnabled = s.enabled() == ThpEnabled.ALWAYS || s.enabled() == ThpEnabled.MADVISE;
            boolean globalAlways = s.enabled() == ThpEnabled.ALWAYS;
            long m = s.anonAlways();
            if (advised) {
                m |= s.anonMadvise();
            }
            if (globalAlways || (advised && globalEnabled)) {
                m |= s.anonInherit();
            }
            return m;
        }

        /** §4.2. */
        static boolean thpDisabled(int flags, ProcessThpMode mm, boolean forced) {
            if ((flags & VmaFlag.NOHUGEPAGE.mask()) != 0) {
                return true;
            }
            if (mm == ProcessThpMode.DISABLED) {
                return true;
            }
            if ((flags & VmaFlag.HUGEPAGE.mask()) != 0) {
                return false;
            }
            if (forced) {
                return false;
            }
            return mm == ProcessThpMode.DISABLED_EXCEPT_ADVISED;
        }

        /** §2 thp_vma_suitable_order, with the kernel's unsigned long arithmetic. */
        boolean suitable(VmaInfo v, long addr, int order) {
            long size = g.pageSize() << order;
            long pages = size >>> g.pageShift();
            if (v.kind() != VmaKind.ANON && Long.remainderUnsigned((v.start() >>> g.pageShift()) - v.pgoff(), pages) != 0) {
                return false;
            }
            long base = addr - Long.remainderUnsigned(addr, size);
            return Long.compareUnsigned(base, v.start()) >= 0 && Long.compareUnsigned(base + size, v.end()) <= 0;
        }

        /**
         * §4.3 wrapper and core, with a hook at {@code placement} ({@code null} for none): BPF-THP v7 runs it
         * first (§14.3), mthp_ext after the anon sysfs mask (§15.2). A zero from the hook returns 0 at once.
         */
        long allowable(ThpSettings s, ProcessThpMode mm, VmaInfo v, TvaType type, long orders, LongUnaryOperator hook,
                       HookPlacement placement) {
            Column col = Column.of(type);
            if (orders == 0) {
                return 0;
            }
            if (hook != null && placement == HookPlacement.BEFORE_SYSFS_MASK) {
                orders = hook.applyAsLong(orders);
                if (orders == 0) {
                    return 0;
                }
            }
            if (col.sysfsMask() && v.kind() == VmaKind.ANON) {
                orders &= anonMask(s, v.flags());
                if (orders == 0) {
                    return 0;
                }
            }
            if (hook != null && placement == HookPlacement.AFTER_SYSFS_MASK) {
                orders = hook.applyAsLong(orders);
                if (orders == 0) {
                    return 0;
                }
            }
            return core(s, mm, v, col, orders);
        }

        private long core(ThpSettings s, ProcessThpMode mm, VmaInfo v, Column col, long orders) {
            int flags = v.flags();
            boolean anon = v.kind() == VmaKind.ANON;
            // 1
            if (anon) {
                orders &= allAnon();
            } else if (has(flags, VmaFlag.SPECIAL_HUGE)) {
                orders &= allSpecial();
            } else {
                orders &= allFile();
            }
            if (orders == 0) {
                return 0;
            }
            // 2
            if (has(flags, VmaFlag.NO_MM)) {
                return 0;
            }
            // 3
            if (hwDisabled || has(flags, VmaFlag.NOHUGEPAGE) || mm == ProcessThpMode.DISABLED) {
                return 0;
            }
            if (mm == ProcessThpMode.DISABLED_EXCEPT_ADVISED && !has(flags, VmaFlag.HUGEPAGE) && col.exceptAdvisedBlocks()) {
                return 0;
            }
            // 4
            if (has(flags, VmaFlag.DAX)) {
                return col.daxAllows() ? orders : 0;
            }
            // 5
            if (has(flags, VmaFlag.NO_KHUGEPAGED) && col.noKhugepagedBlocks()) {
                return 0;
            }
            // 6
            if (col.suitability()) {
                for (int o = 63; o >= 0; o--) {
                    if ((orders & (1L << o)) == 0) {
                        continue;
                    }
                    if (suitable(v, v.end() - (g.pageSize() << o), o)) {
                        break;
                    }
                    orders &= ~(1L << o);
                }
                if (orders == 0) {
                    return 0;
                }
            }
            // 7
            if (col.shmemRules() && (v.kind() == VmaKind.SHMEM || v.kind() == VmaKind.TMPFS)) {
                return shmemAllowable(s, mm, v, v.pgoff(), 0, col.shmemForce());
            }
            // 8
            if (!anon) {
                if (col.fileGlobalGate() && (s.enabled() == ThpEnabled.NEVER
                        || (!has(flags, VmaFlag.HUGEPAGE) && s.enabled() != ThpEnabled.ALWAYS))) {
                    return 0;
                }
                if (col.hugeFaultAllows() && has(flags, VmaFlag.HUGE_FAULT)) {
                    return orders;
                }
                if (col.fileThpAllows() && readOnlyThpForFs && has(flags, VmaFlag.FILE_THP_ENABLED)) {
                    return orders;
                }
                return 0;
            }
            // 9
            if (has(flags, VmaFlag.TEMPORARY_STACK)) {
                return 0;
            }
            // 10
            if (!has(flags, VmaFlag.ANON_VMA)) {
                return col.noAnonVmaAllows() ? orders : 0;
            }
            // 11
            return orders;
        }

        /** §8 shmemAllowableHugeOrders: per-size within_size reads i_size only; the global rule max(i_size, write_end). */
        long shmemAllowable(ThpSettings s, ProcessThpMode mm, VmaInfo v, long index, long writeEnd, boolean force) {
            if (hwDisabled || thpDisabled(v.flags(), mm, force)) {
                return 0;
            }
            long global = shmemGlobal(s, v, index, writeEnd, force);
            if (v.kind() != VmaKind.SHMEM) {
                return global;
            }
            if (s.shmemEnabled() == ShmemEnabled.DENY) {
                return 0;
            }
            if (s.shmemEnabled() == ShmemEnabled.FORCE) {
                return s.shmemInherit();
            }
            long m = s.shmemAlways();
            m |= withinSize(s.shmemWithinSize(), index, v.fileSize());
            if (has(v.flags(), VmaFlag.HUGEPAGE)) {
                m |= s.shmemAdvise();
            }
            if (global != 0) {
                m |= s.shmemInherit();
            }
            return m & allFile();
        }

        /**
         * §8 shmemHugeGlobalEnabled for a mapped regular file on the internal mount. "BIT(PMD_ORDER)" is the
         * kernel's maybe_pmd_order: 0 when PMD_ORDER > MAX_PAGECACHE_ORDER (arm64 64K), since no PMD page-cache
         * folio can exist there.
         */
        private long shmemGlobal(ThpSettings s, VmaInfo v, long index, long writeEnd, boolean force) {
            long pmd = g.pmdOrder() > g.maxPagecacheOrder() ? 0 : 1L << g.pmdOrder();
            ShmemEnabled top = s.shmemEnabled();
            if (top == ShmemEnabled.DENY) {
                return 0;
            }
            if (force || top == ShmemEnabled.FORCE) {
                return pmd;
            }
            if (top == ShmemEnabled.ALWAYS) {
                return pmd;
            }
            if (top == ShmemEnabled.WITHIN_SIZE) {
                long within = withinSize(pmd, index, Math.max(v.fileSize(), writeEnd));
                if (within != 0) {
                    return within;
                }
            }
            if (top == ShmemEnabled.WITHIN_SIZE || top == ShmemEnabled.ADVISE) {
                return has(v.flags(), VmaFlag.HUGEPAGE) ? pmd : 0;
            }
            return 0;
        }

        /** The first order o, from the top, with sizePages >= roundUp(index + 1, 2^o) keeps itself and below. */
        private long withinSize(long orders, long index, long sizeBytes) {
            long sizePages = (sizeBytes + g.pageSize() - 1) / g.pageSize();
            for (int o = 63; o >= 0; o--) {
                if ((orders & (1L << o)) == 0) {
                    continue;
                }
                long block = 1L << o;
                long roundedUp = ((index + 1 + block - 1) / block) * block;
                if (sizePages >= roundedUp) {
                    return orders & range(0, o);
                }
            }
            return 0;
        }

        private static boolean has(int flags, VmaFlag flag) {
            return (flags & flag.mask()) != 0;
        }
    }
}
