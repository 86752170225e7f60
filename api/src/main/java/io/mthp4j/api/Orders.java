package io.mthp4j.api;

import java.util.Locale;

/**
 * Static helpers on THP order masks (kernel-semantics.md §2): a {@code long} whose bit {@code n} stands
 * for folios of {@code 2^n} base pages, exactly as the kernel carries orders in an {@code unsigned long}.
 * All methods are allocation-free except {@link #parse} and {@link #format}.
 */
public final class Orders {

    /** The highest order a mask can carry. */
    public static final int MAX_ORDER = 63;

    private Orders() {
    }

    /** {@code BIT(order)}. */
    public static long bit(int order) {
        checkOrder(order);
        return 1L << order;
    }

    /** Index of the most significant set bit, or -1 for an empty mask ({@code highest_order}). */
    public static int highest(long mask) {
        return 63 - Long.numberOfLeadingZeros(mask);
    }

    /** Index of the least significant set bit, or -1 for an empty mask. */
    public static int lowest(long mask) {
        return mask == 0 ? -1 : Long.numberOfTrailingZeros(mask);
    }

    /**
     * {@code next_order}: the highest order of {@code mask} once {@code prev} is removed, or -1. The caller
     * keeps {@code mask & ~bit(prev)} as the remaining candidates.
     */
    public static int next(long mask, int prev) {
        return highest(mask & ~bit(prev));
    }

    /** Whether {@code order} is in {@code mask}. */
    public static boolean contains(long mask, int order) {
        return order >= 0 && order <= MAX_ORDER && (mask & (1L << order)) != 0;
    }

    /** Every order from 0 up to and including {@code order}; empty for -1. */
    public static long upTo(int order) {
        if (order < -1 || order > MAX_ORDER) {
            throw new IllegalArgumentException("order must be in -1.." + MAX_ORDER + ", was " + order);
        }
        return order == MAX_ORDER ? -1L : (1L << (order + 1)) - 1;
    }

    /** Whether every order of {@code mask} is in {@code of}. */
    public static boolean isSubset(long mask, long of) {
        return (mask & ~of) == 0;
    }

    /** Number of orders in the mask. */
    public static int count(long mask) {
        return Long.bitCount(mask);
    }

    /** Bytes of a folio of {@code order} with base pages of {@code pageSize} bytes. */
    public static long bytes(int order, long pageSize) {
        checkOrder(order);
        checkPageSize(pageSize);
        long bytes = pageSize << order;
        if (bytes >> order != pageSize) { // signed shift: 2^63 (negative) is an overflow too
            throw new IllegalArgumentException("a folio of order " + order + " with " + pageSize + " B pages overflows a long");
        }
        return bytes;
    }

    /**
     * The order of a folio of {@code bytes} with base pages of {@code pageSize} bytes.
     *
     * @throws IllegalArgumentException if {@code bytes} is not {@code pageSize} times a power of two
     */
    public static int order(long bytes, long pageSize) {
        checkPageSize(pageSize);
        if (bytes < pageSize || bytes % pageSize != 0 || Long.bitCount(bytes / pageSize) != 1) {
            throw new IllegalArgumentException(bytes + " bytes is not a folio size for " + pageSize
                    + " B pages (it must be the page size times a power of two)");
        }
        return Long.numberOfTrailingZeros(bytes / pageSize);
    }

    /**
     * Parses a list of folio sizes such as {@code "2M,64K,16K"} (also {@code 2048kB}, {@code 2MiB},
     * {@code 1G}, plain bytes) into a mask. {@code "none"} and the empty string give 0.
     *
     * @throws IllegalArgumentException naming the bad element and the whole text
     */
    public static long parse(String text, long pageSize) {
        checkPageSize(pageSize);
        String trimmed = text.strip();
        if (trimmed.isEmpty() || trimmed.equalsIgnoreCase("none")) {
            return 0;
        }
        long mask = 0;
        for (String part : trimmed.split(",", -1)) { // -1: a trailing empty element is an error too
            String token = part.strip();
            try {
                mask |= bit(order(parseSize(token), pageSize));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("bad folio size '" + token + "' in \"" + text + "\": " + e.getMessage()
                        + "; expected sizes such as \"2M,64K,16K\"", e);
            }
        }
        return mask;
    }

    /**
     * Formats a mask as sizes, highest first, such as {@code "2M,64K,16K"}; {@code "none"} when empty.
     *
     * @throws IllegalArgumentException if a size of the mask does not fit in a {@code long}
     */
    public static String format(long mask, long pageSize) {
        checkPageSize(pageSize);
        if (mask == 0) {
            return "none";
        }
        StringBuilder out = new StringBuilder();
        for (long rest = mask; rest != 0; ) {
            int order = highest(rest);
            rest &= ~(1L << order);
            if (out.length() > 0) {
                out.append(',');
            }
            out.append(formatSize(bytes(order, pageSize)));
        }
        return out.toString();
    }

    /** Formats a byte count the way sizes are spelled here: {@code 4K}, {@code 2M}, {@code 1G}. */
    public static String formatSize(long bytes) {
        String[] units = {"", "K", "M", "G", "T", "P"};
        int unit = 0;
        while (unit < units.length - 1 && bytes != 0 && bytes % 1024 == 0) {
            bytes /= 1024;
            unit++;
        }
        return bytes + units[unit];
    }

    private static long parseSize(String token) {
        String t = token.toUpperCase(Locale.ROOT);
        if (t.endsWith("IB")) {
            t = t.substring(0, t.length() - 2);
        } else if (t.endsWith("B")) {
            t = t.substring(0, t.length() - 1);
        }
        int shift = 0;
        if (!t.isEmpty()) {
            switch (t.charAt(t.length() - 1)) {
                case 'K' -> shift = 10;
                case 'M' -> shift = 20;
                case 'G' -> shift = 30;
                case 'T' -> shift = 40;
                case 'P' -> shift = 50;
                default -> shift = 0;
            }
        }
        String digits = shift == 0 ? t : t.substring(0, t.length() - 1);
        if (digits.isEmpty() || !digits.chars().allMatch(Character::isDigit)) {
            throw new IllegalArgumentException("not a size");
        }
        long value;
        try {
            value = Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("too large");
        }
        if (value > (Long.MAX_VALUE >> shift)) {
            throw new IllegalArgumentException("too large");
        }
        return value << shift;
    }

    private static void checkOrder(int order) {
        if (order < 0 || order > MAX_ORDER) {
            throw new IllegalArgumentException("order must be in 0.." + MAX_ORDER + ", was " + order);
        }
    }

    private static void checkPageSize(long pageSize) {
        if (pageSize <= 0 || Long.bitCount(pageSize) != 1) {
            throw new IllegalArgumentException("page size must be a power of two, was " + pageSize);
        }
    }
}
