package daedalus.testnode;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Behaviour behind the per-table MBean (registered as both type=Tables and type=ColumnFamilies): names, DataPaths and
 * the importNewSSTables overloads, all delegating to {@link SSTableImporter}.
 */
final class ColumnFamilyStore implements Surfaces.Table50 {
    private final Node node;
    private final Table table;

    ColumnFamilyStore(Node node, Table table) {
        this.node = node;
        this.table = table;
    }

    @Override public String getTableName() { return table.name; }
    @Override public String getColumnFamilyName() { return table.name; }

    @Override
    public List<String> getDataPaths() {
        List<String> out = new ArrayList<>();
        out.add(table.dir.toString());
        return out;
    }

    @Override
    public void loadNewSSTables() {
        node.importer.refresh(table, new SSTableImporter.Options(true, false, false, false, false, false, false));
    }

    @Override
    public List<String> importNewSSTables(Set<String> srcPaths, boolean resetLevel, boolean clearRepaired,
            boolean verifySSTables, boolean verifyTokens, boolean invalidateCaches, boolean extendedVerify) {
        return importNewSSTables(srcPaths, resetLevel, clearRepaired, verifySSTables, verifyTokens, invalidateCaches,
                extendedVerify, false);
    }

    @Override
    public List<String> importNewSSTables(Set<String> srcPaths, boolean resetLevel, boolean clearRepaired,
            boolean verifySSTables, boolean verifyTokens, boolean invalidateCaches, boolean extendedVerify,
            boolean copyData) {
        return node.importer.importNew(table, srcPaths, new SSTableImporter.Options(resetLevel, clearRepaired,
                verifySSTables, verifyTokens, invalidateCaches, extendedVerify, copyData));
    }

    @Override
    public List<String> importNewSSTables(Set<String> srcPaths, boolean resetLevel, boolean clearRepaired,
            boolean verifySSTables, boolean verifyTokens, boolean invalidateCaches, boolean extendedVerify,
            boolean copyData, boolean failOnMissingIndex, boolean validateIndexChecksum) {
        return importNewSSTables(srcPaths, resetLevel, clearRepaired, verifySSTables, verifyTokens, invalidateCaches,
                extendedVerify, copyData);
    }
}
