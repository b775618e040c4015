# Sphinx configuration of the loc-strategy-filter documentation.

project = 'loc-strategy-filter'
copyright = 'the loc-strategy-filter authors'

extensions = [
    'sphinx.ext.autodoc',
    'oslo_config.sphinxext',
    'openstackdocstheme',
]

# openstackdocstheme
openstackdocs_repo_name = 'loc-strategy-filter'
openstackdocs_use_storyboard = False
openstackdocs_auto_name = False
openstackdocs_bug_project = ''
openstackdocs_bug_tag = ''

html_theme = 'openstackdocs'

master_doc = 'index'
exclude_patterns = ['build']
pygments_style = 'native'

autodoc_member_order = 'bysource'
autodoc_default_options = {'show-inheritance': True}
