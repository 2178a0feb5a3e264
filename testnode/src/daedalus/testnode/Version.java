package daedalus.testnode;

/**
 * Which Cassandra release line the node imitates, and the release string it reports.
 *
 * <p>Owns version parsing only; the per-version MBean shapes live in the *Surface classes.
 */
public final class Version {
    /** The four release lines whose JMX surface the fact sheet describes. */
    public enum Family { V311, V40, V41, V50 }

    private final Family family;
    private final String release;

    private Version(Family family, String release) {
        this.family = family;
        this.release = release;
    }

    /**
     * Parses "3.11", "4.0", "4.1", "5.0" (reported as the release the fact sheet read: 3.11.20, 4.0.6, 4.1.0,
     * 5.0-beta2) or a full version such as "4.1.5" (reported verbatim).
     */
    public static Version parse(String text) {
        String t = text.trim();
        Family f;
        if (t.equals("3.11") || t.startsWith("3.11.") || t.startsWith("3.11-")) f = Family.V311;
        else if (t.equals("4.0") || t.startsWith("4.0.") || t.startsWith("4.0-")) f = Family.V40;
        else if (t.equals("4.1") || t.startsWith("4.1.") || t.startsWith("4.1-")) f = Family.V41;
        else if (t.equals("5.0") || t.startsWith("5.0.") || t.startsWith("5.0-")) f = Family.V50;
        else throw new IllegalArgumentException("unsupported --cassandra-version " + text + " (3.11, 4.0, 4.1, 5.0)");
        String release = t;
        if (t.equals("3.11")) release = "3.11.20";
        else if (t.equals("4.0")) release = "4.0.6";
        else if (t.equals("4.1")) release = "4.1.0";
        else if (t.equals("5.0")) release = "5.0-beta2";
        return new Version(f, release);
    }

    public Family family() { return family; }

    public String release() { return release; }

    public boolean is311() { return family == Family.V311; }

    public boolean atLeast(Family f) { return family.ordinal() >= f.ordinal(); }
}
