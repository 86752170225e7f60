package io.mthp4j.api;

/**
 * A THP order policy: the decision a BPF-THP program makes in the kernel, written in Java.
 *
 * <p>The kernel (or mthp4j's emulation of it) calls {@link #chooseOrders} where the proposed hook sits,
 * whenever it asks which folio sizes a VMA may use: on page faults, in khugepaged, for MADV_COLLAPSE and
 * for the smaps {@code THPeligible} line.
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li>{@code orders} is a bit mask of THP orders the kernel is asking about: bit {@code n} set means
 *       folios of {@code 2^n} base pages (order 9 = 2 MiB with 4 KiB pages). See {@link Orders}.</li>
 *   <li>The policy returns the subset of {@code orders} it allows. Returning {@code orders} unchanged means
 *       "no opinion": the kernel's own rules decide. Returning {@code 0} means base pages only.</li>
 *   <li>The policy can only narrow: what sysfs, prctl and madvise forbid stays forbidden whatever it
 *       returns. A result with bits outside {@code orders}, and an exception, are treated as "no opinion",
 *       counted and logged; they never break the caller.</li>
 *   <li>It is called on hot paths (every fault) and possibly from many threads at once: it must be
 *       thread-safe, fast and allocation-free, and must not block.</li>
 * </ul>
 */
@FunctionalInterface
public interface MthpPolicy {

    /**
     * Chooses the orders this VMA may use for this request.
     *
     * @param vma     the VMA the kernel asks about
     * @param tvaType why it asks
     * @param orders  the orders it asks about
     * @return the subset of {@code orders} allowed; {@code orders} for no opinion, 0 for base pages only
     */
    long chooseOrders(VmaInfo vma, TvaType tvaType, long orders);

    /** A policy with no opinion: it returns the request unchanged. */
    static MthpPolicy noOpinion() {
        return (vma, tvaType, orders) -> orders;
    }

    /** A policy that allows base pages only. */
    static MthpPolicy baseOnly() {
        return (vma, tvaType, orders) -> 0;
    }
}
