package io.mthp4j.core.controller;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/** A JFR event per decision change of the controller: one cgroup's published decision changed. */
@Name("io.mthp4j.DecisionChange")
@Label("mTHP Decision Change")
@Category({"mthp4j", "Controller"})
@Description("The THP decision the controller publishes for one cgroup changed")
@StackTrace(false)
final class DecisionChangeEvent extends jdk.jfr.Event {

    @Label("Cgroup")
    String cgroup;

    @Label("Cgroup Id")
    long cgroupId;

    @Label("Stall Before")
    @Description("Cumulative full memory stall at the cgroup's previous scan")
    @Timespan(Timespan.MICROSECONDS)
    long stallBefore;

    @Label("Stall After")
    @Description("Cumulative full memory stall at this scan")
    @Timespan(Timespan.MICROSECONDS)
    long stallAfter;

    @Label("Memory")
    @Description("anon + shmem")
    @DataAmount
    long memory;

    @Label("Before")
    String before;

    @Label("After")
    String after;

    @Label("Generation")
    long generation;
}
