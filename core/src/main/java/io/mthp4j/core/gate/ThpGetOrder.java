package io.mthp4j.core.gate;

import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaInfo;
import io.mthp4j.api.VmaType;

/**
 * The hook shape of BPF-THP v7: {@code int thp_get_order(vma, vma_type, tva_type, orders)}
 * (kernel-semantics.md §14.2). Returns one suggested order not above the highest requested, or -1 for
 * "leave the requested orders unchanged". Adapt it with {@link Hooks#thpGetOrder} or
 * {@link Hooks#thpGetOrderStrict}.
 */
@FunctionalInterface
public interface ThpGetOrder {

    int thpGetOrder(VmaInfo vma, VmaType vmaType, TvaType tvaType, long orders);
}
